"""Warnings, then stops, for running servers: the team's max session length and the
member's and team's GPU-hour budgets. Pure: records and ``now`` in, notices out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from ..profiles import slice_profile
from ..server_env import warning_due
from ..usage import Charged, burn_rate, period_bounds, total_gpu_hours
from .limits import holds_gpu
from .teams import Membership, format_duration, format_hours, format_when


class LiveRecord(Charged, Protocol):
    id: int
    server_name: str
    state: str


class NoticeKind(StrEnum):
    SESSION_LIMIT = "session-limit"
    MEMBER_BUDGET = "member-budget"
    TEAM_BUDGET = "team-budget"


@dataclass(frozen=True)
class Notice:
    """A running server that will be stopped at ``deadline`` (warned ``warn_before``
    ahead); ``due`` once the deadline has passed."""

    allocation_id: int
    user: str
    server_name: str
    team: str
    kind: NoticeKind
    deadline: float
    due: bool
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "allocation_id": self.allocation_id,
            "user": self.user,
            "server_name": self.server_name,
            "team": self.team,
            "kind": self.kind.value,
            "deadline": self.deadline,
            "due": self.due,
            "message": self.message,
        }


def notices(
    records: Sequence[LiveRecord],
    now: float,
    membership_of: Callable[[LiveRecord], Membership | None],
) -> list[Notice]:
    """Warnings (and due stops) for every running server, from records that cover each
    team's current period (``Teams.earliest_period_start``) up to ``now``.

    Session: stopped ``max_session`` after it became active. Budget: the member's and the
    team's GPU-hours left, spent at the rate their running slices burn now, say when the
    budget runs out; GPU servers are stopped then (cpu servers cost nothing)."""
    out: list[Notice] = []
    for record in records:
        if record.released_at is not None or record.activated_at is None:
            continue
        membership = membership_of(record)
        if membership is None:
            continue
        for kind, deadline, text in _deadlines(record, records, membership, now):
            if warning_due(deadline - now, membership.policy.warn_before):
                out.append(
                    Notice(
                        allocation_id=record.id,
                        user=record.user,
                        server_name=record.server_name,
                        team=membership.team.name,
                        kind=kind,
                        deadline=deadline,
                        due=now >= deadline,
                        message=text,
                    )
                )
    return out


def _deadlines(
    record: LiveRecord, records: Sequence[LiveRecord], membership: Membership, now: float
) -> list[tuple[NoticeKind, float, str]]:
    policy, team = membership.policy, membership.team
    out = []
    if policy.max_session is not None:
        end = (record.activated_at or now) + policy.max_session
        out.append(
            (
                NoticeKind.SESSION_LIMIT,
                end,
                f"This server is stopped at {format_when(end)}: sessions of team {team.name} last "
                f"at most {format_duration(policy.max_session)}. Save your work.",
            )
        )
    if not slice_profile(record.slice_name).needs_gpu:
        return out
    start = period_bounds(now, team.policy.period)[0]
    in_team = [r for r in records if r.team == team.name]
    for kind, limit, pool, whose in (
        (
            NoticeKind.MEMBER_BUDGET,
            policy.gpu_hours_per_member,
            [r for r in in_team if r.user == record.user],
            "Your",
        ),
        (NoticeKind.TEAM_BUDGET, team.policy.gpu_hours_per_team, in_team, f"Team {team.name}'s"),
    ):
        rate = burn_rate(r for r in pool if holds_gpu(r))
        if limit is None or rate <= 0:
            continue
        left = max(0.0, limit - total_gpu_hours(pool, start, now))
        end = now + left / rate * 3600
        out.append(
            (
                kind,
                end,
                f"{whose} GPU-hours run out at {format_when(end)} ({format_hours(left)} of "
                f"{format_hours(limit)} left this {team.policy.period.value}); GPU servers "
                "are stopped then. Save your work.",
            )
        )
    return out
