"""Limits checked when a slice is reserved (concurrent slices, GPU-hour budgets) and the
budget status the form and the usage API show. A member of a team gets the team's
policy; a user on a hub without teams gets the hub's cap of GPU slices per user. Pure:
the ledger passes the records and ``now`` from inside its reservation transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..profiles import no_larger, slice_profile
from ..refusals import RefusalCode, Refused
from ..usage import Charged, Period, period_bounds, total_gpu_hours
from .teams import Membership, format_hours, format_when

LimitCode = RefusalCode
"""The limits' codes are members of the one closed set (NO_TEAM ... IMAGE_MIN_SLICE)."""


@dataclass(frozen=True)
class LimitRefusal(Refused):
    """A request the policy refuses, with which limit and what is left."""

    code: RefusalCode
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)
    """The figures in ``message`` as plain values, so that the message can be written in
    another language (spawners/i18n) from ``code`` and these."""


def no_team_refusal(user: str) -> LimitRefusal:
    return LimitRefusal(
        RefusalCode.NO_TEAM,
        f"{user} is in no team of this hub, so no server can be started. Ask your team's "
        "administrator to add you to your team's group, then log in again.",
        params={"user": user},
    )


def min_slice_refusal(image: str, min_slice: str | None, slice_name: str) -> LimitRefusal | None:
    """A start of ``image`` on a slice smaller than its ``min_slice`` (the site file's
    images.<name>.min_slice), naming both; None when the slice is large enough."""
    if min_slice is None or no_larger(min_slice, slice_name):
        return None
    return LimitRefusal(
        RefusalCode.IMAGE_MIN_SLICE,
        f"The image {image!r} needs at least a {min_slice} slice, and {slice_name} is "
        "smaller. Choose a larger slice for it, or another image.",
        params={"image": image, "min_slice": min_slice, "slice": slice_name},
    )


def holds_gpu(record: Charged) -> bool:
    return record.released_at is None and slice_profile(record.slice_name).needs_gpu


@dataclass(frozen=True)
class BudgetStatus:
    """GPU-hours used and left in the current period, for a member and their team."""

    period: Period
    period_start: float
    period_end: float
    member_used: float
    member_limit: float | None
    team_used: float
    team_limit: float | None

    @property
    def member_left(self) -> float | None:
        return None if self.member_limit is None else self.member_limit - self.member_used

    @property
    def team_left(self) -> float | None:
        return None if self.team_limit is None else self.team_limit - self.team_used

    @property
    def left(self) -> float | None:
        """What the member can still use: the smaller of the two, None if unlimited."""
        finite = [v for v in (self.member_left, self.team_left) if v is not None]
        return min(finite) if finite else None

    def as_json(self) -> dict[str, Any]:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 6)

        return {
            "period": self.period.value,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "member": {
                "used": r(self.member_used),
                "limit": self.member_limit,
                "left": r(self.member_left),
            },
            "team": {
                "used": r(self.team_used),
                "limit": self.team_limit,
                "left": r(self.team_left),
            },
            "left": r(self.left),
        }


def budget_status(
    membership: Membership, user: str, records: Iterable[Charged], now: float
) -> BudgetStatus:
    """Usage of ``user`` and their team in the current period, from records that cover it."""
    team = membership.team
    period = team.policy.period
    start, end = period_bounds(now, period)
    mine = [r for r in records if r.team == team.name]
    return BudgetStatus(
        period=period,
        period_start=start,
        period_end=end,
        member_used=total_gpu_hours((r for r in mine if r.user == user), start, now),
        member_limit=membership.policy.gpu_hours_per_member,
        team_used=total_gpu_hours(mine, start, now),
        team_limit=team.policy.gpu_hours_per_team,
    )


def _user_cap_refusal(mine: Sequence[Charged], cap: int | None) -> LimitRefusal | None:
    """The hub's cap of GPU slices per user (no team) against the ones the user holds."""
    if cap is None or len(mine) < cap:
        return None
    if cap == 0:
        message = "Limit reached: this hub allows no GPU slice per user; start a cpu server."
    else:
        held = f"{len(mine)} GPU slice{'' if len(mine) == 1 else 's'}"
        message = (
            f"Limit reached: you already hold {held} ({_listing(mine)}); this hub "
            f"allows {cap} per user. Stop one to start another."
        )
    return LimitRefusal(
        RefusalCode.USER_CONCURRENCY, message, params={"cap": cap, "held": _held(mine)}
    )


@dataclass(frozen=True)
class Admission:
    """What a reservation must respect: the team's policy for a member of a team, else
    the hub's ``max_gpu_slices_per_user`` (None: no cap). The ledger calls ``admit``
    inside its write transaction, with the records of this user (and team) that are live
    or were released after ``since``, so concurrent reservations cannot both slip under
    a limit."""

    user: str
    slice_name: str
    membership: Membership | None = None
    max_gpu_slices_per_user: int | None = None

    @property
    def team(self) -> str | None:
        return self.membership.team.name if self.membership else None

    def since(self, now: float) -> float:
        if self.membership is None:
            return now  # no budget to count: only live records matter
        return period_bounds(now, self.membership.team.policy.period)[0]

    def admit(self, records: Sequence[Charged], now: float) -> LimitRefusal | None:
        if not slice_profile(self.slice_name).needs_gpu:
            return None  # cpu holds no GPU and costs nothing: always allowed
        live = [r for r in records if holds_gpu(r)]
        mine = [r for r in live if r.user == self.user]
        if self.membership is None:
            return _user_cap_refusal(mine, self.max_gpu_slices_per_user)
        policy, team = self.membership.policy, self.membership.team
        cap = policy.max_slices_per_member
        if cap is not None and len(mine) >= cap:
            return LimitRefusal(
                RefusalCode.MEMBER_CONCURRENCY,
                f"Limit reached: at most {cap} GPU slice(s) per member of team {team.name} at "
                f"a time, and you hold {len(mine)} ({_listing(mine)}); 0 left. Stop one of "
                "your servers first, or start a cpu server.",
                params={"cap": cap, "team": team.name, "held": _held(mine)},
            )
        theirs = [r for r in live if r.team == team.name]
        cap = team.policy.max_slices_per_team
        if cap is not None and len(theirs) >= cap:
            return LimitRefusal(
                RefusalCode.TEAM_CONCURRENCY,
                f"Limit reached: team {team.name} may hold at most {cap} GPU slice(s) at a "
                f"time and holds {len(theirs)} now; 0 left. Try again when a teammate stops "
                "a server, or start a cpu server.",
                params={"cap": cap, "team": team.name, "holds": len(theirs)},
            )
        status = budget_status(self.membership, self.user, records, now)
        period = f"this {status.period.value} (resets {format_when(status.period_end)})"
        figures = {"period": status.period.value, "resets": status.period_end}
        if status.member_left is not None and status.member_left <= 0:
            return LimitRefusal(
                RefusalCode.MEMBER_BUDGET,
                f"GPU-hour budget used up: you have used {format_hours(status.member_used)} "
                f"of your {format_hours(status.member_limit or 0)} GPU-hours {period}; 0 left. "
                "A cpu server is still available.",
                params={
                    **figures,
                    "used": status.member_used,
                    "limit": status.member_limit or 0,
                },
            )
        if status.team_left is not None and status.team_left <= 0:
            return LimitRefusal(
                RefusalCode.TEAM_BUDGET,
                f"GPU-hour budget used up: team {team.name} has used "
                f"{format_hours(status.team_used)} of its {format_hours(status.team_limit or 0)} "
                f"GPU-hours {period}; 0 left. A cpu server is still available.",
                params={
                    **figures,
                    "team": team.name,
                    "used": status.team_used,
                    "limit": status.team_limit or 0,
                },
            )
        return None


def _held(records: Sequence[Any]) -> tuple[tuple[str, str], ...]:
    """(server name, slice) of each record; "" is the default server."""
    return tuple((getattr(r, "server_name", "") or "", r.slice_name) for r in records)


def _listing(records: Sequence[Any]) -> str:
    return ", ".join(
        f"{getattr(r, 'server_name', '') or 'default server'}: {r.slice_name}" for r in records
    )
