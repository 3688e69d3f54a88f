"""Per-team idle timeouts for jupyterhub-idle-culler: its ``cull_arbiter_hook``.

The culler runs with the shortest timeout of the site (so it checks often enough); this
arbiter then applies the timeout of the team the server is charged to (and the user's
role in it), the site's ``hub.culler.idle_timeout`` for servers outside any team, and
never culls where the timeout is null. Every cull is audited in the ledger."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from spawners.core.policy import Teams, format_duration, parse_duration
from spawners.ledger.ledger import Ledger

from .hubapi import HubApi


def idle_timeout_for(
    teams: Teams, team: str | None, groups: frozenset[str], default: int | None
) -> tuple[int | None, str]:
    """(timeout in seconds or None for never, whose rule it is)."""
    membership = teams.membership_in(team, groups) if team else teams.membership(groups)
    if membership is None:
        return default, "site default"
    return membership.policy.idle_timeout, f"team {membership.team.name}"


class TeamIdleArbiter:
    """Called by the culler for each ready server; True = cull it now."""

    def __init__(self, teams: Teams, ledger: Ledger, default: int | None, hub: HubApi) -> None:
        self.teams = teams
        self.ledger = ledger
        self.default = default
        self.hub = hub

    def __deepcopy__(self, memo: dict) -> TeamIdleArbiter:
        # traitlets deep-copies config values; the ledger's engine must stay one object.
        return self

    async def __call__(
        self, *, inactive: timedelta, inactive_limit: int, server: dict[str, Any], **_: Any
    ) -> bool:
        user, _, name = server.get("full_name", "").partition("/")
        record = self.ledger.live_for(user, name)
        groups = await self.hub.groups(user)
        timeout, rule = idle_timeout_for(
            self.teams, record.team if record else None, groups, self.default
        )
        if timeout is None or inactive.total_seconds() < timeout:
            return False
        self.ledger.audit(
            "idle-culler",
            "cull",
            f"{user}/{name}",
            f"idle for {format_duration(inactive.total_seconds())}, over the "
            f"{format_duration(timeout)} idle timeout of the {rule}"
            + (f"; allocation {record.id} ({record.slice_name})" if record else ""),
        )
        return True


def arbiter_from_environment() -> TeamIdleArbiter:
    from extensions.bootstrap import bootstrap

    service = bootstrap()
    raw = service.site["hub"]["culler"]["idle_timeout"]
    default = None if raw is None else parse_duration(raw)
    return TeamIdleArbiter(service.teams, service.ledger(), default, HubApi())
