"""The quota service's loop: warn, then stop, servers past their session length or
budget. The decisions are the pure ``spawners.core.policy.notices``; this only reads the
ledger and the users' groups, audits, and asks the hub to stop servers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from spawners.core.policy import Notice, Teams, notices
from spawners.ledger.ledger import Ledger
from spawners.ledger.records import AllocationRecord

from .hubapi import HubApi

log = logging.getLogger("sandbox.quota")

RESTOP_AFTER_S = 60.0
"""A stop the hub has not finished after this long is asked for again."""


class Enforcer:
    def __init__(
        self, ledger: Ledger, teams: Teams, hub: HubApi, clock: Callable[[], float] = time.time
    ) -> None:
        self.ledger = ledger
        self.teams = teams
        self.hub = hub
        self.clock = clock
        self._warned: set[tuple[int, str]] = set()
        self._stopping: dict[int, float] = {}

    async def tick(self) -> list[Notice]:
        """One pass; returns the notices it acted on."""
        now = self.clock()
        records = self.ledger.overlapping(self.teams.earliest_period_start(now), now)
        users = {r.user for r in records if r.released_at is None}
        groups = {u: await self.hub.groups(u) for u in sorted(users)}

        def membership_of(record: AllocationRecord):
            return self.teams.membership_in(record.team, groups.get(record.user, frozenset()))

        found = notices(records, now, membership_of)
        for notice in found:
            subject = f"{notice.user}/{notice.server_name}"
            detail = f"allocation {notice.allocation_id} [{notice.kind.value}]: {notice.message}"
            if notice.due:
                asked = self._stopping.get(notice.allocation_id)
                if asked is not None and now - asked < RESTOP_AFTER_S:
                    continue
                self._stopping[notice.allocation_id] = now
                self.ledger.audit("quota", "quota-stop", subject, detail)
                code = await self.hub.stop(notice.user, notice.server_name)
                log.info("stopping %s (%s): hub answered %s", subject, notice.kind.value, code)
            elif (notice.allocation_id, notice.kind.value) not in self._warned:
                self._warned.add((notice.allocation_id, notice.kind.value))
                self.ledger.audit("quota", "quota-warn", subject, detail)
                log.info("warned %s: %s", subject, notice.message)
        return found
