"""Teams and their policy: which images and slices a member may pick, how many GPU slices
a member and a team may hold at once, how many GPU-hours per period, how long a server
may idle or run. Pure: plain values in, decisions out (the caller passes ``now``).

A user belongs to the first team (in site-file order) that lists one of their groups;
inside a course, members of an instructor group have the instructor role, whose policy
is the course's policy with the instructor overrides on top."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from .options import Choices
from .profiles import SLICES_BY_NAME, slice_profile
from .usage import Charged, Period, burn_rate, period_bounds, total_gpu_hours


class PolicyError(ValueError):
    """A team declaration that cannot be used; the message names the team and the key."""


class TeamKind(StrEnum):
    STARTUP = "startup"
    COURSE = "course"
    STAFF = "staff"


class Role(StrEnum):
    MEMBER = "member"
    INSTRUCTOR = "instructor"


_DURATION = re.compile(r"^([0-9]{1,7})([smhd]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> int:
    """Seconds from ``90``, ``"90s"``, ``"15m"``, ``"8h"`` or ``"2d"``."""
    if isinstance(value, bool):
        raise PolicyError(f"{value!r} is not a duration")
    if isinstance(value, int):
        return value
    match = _DURATION.fullmatch(str(value).strip())
    if match is None:
        raise PolicyError(f"{value!r} is not a duration (seconds, or a number with s, m, h or d)")
    return int(match[1]) * _UNIT[match[2]]


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def format_hours(value: float) -> str:
    return f"{value:.2f}" if abs(value) >= 0.01 or value == 0 else f"{value:.4f}"


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Policy:
    """What one role of one team may do. ``None`` means no limit."""

    images: tuple[str, ...] = ()
    """Allowed images; empty = every image of the site."""
    slices: tuple[str, ...] = ()
    """Allowed slices; empty = every slice of the site up to ``max_slice``."""
    max_slice: str | None = None
    max_slices_per_member: int | None = 1
    max_slices_per_team: int | None = None
    period: Period = Period.MONTH
    gpu_hours_per_member: float | None = None
    gpu_hours_per_team: float | None = None
    idle_timeout: int | None = 3600
    max_session: int | None = 12 * 3600
    warn_before: int = 600

    def allows_slice(self, name: str) -> bool:
        if self.slices and name not in self.slices:
            return False
        if self.max_slice is None:
            return True
        # "No larger than": neither more of the GPU's compute/memory share (the GPU-hour
        # weight) nor more memory, so a 2g.20gb cap admits 1g.20gb and mps.20gb too.
        want, cap = slice_profile(name), slice_profile(self.max_slice)
        return want.gpu_hour_weight <= cap.gpu_hour_weight and want.memory_gb <= cap.memory_gb

    def allows_image(self, name: str) -> bool:
        return not self.images or name in self.images

    def choices(
        self,
        offered_slices: Sequence[str],
        site_images: Sequence[str],
        default_image: str,
        default_slice: str,
    ) -> Choices:
        """The images and slices this policy leaves of what the site offers."""
        images = tuple(i for i in site_images if self.allows_image(i))
        slices = tuple(s for s in offered_slices if self.allows_slice(s))
        image = default_image if default_image in images else (images[0] if images else "")
        if default_slice in slices:
            slice_name = default_slice
        else:
            slice_name = "cpu" if "cpu" in slices else (slices[0] if slices else "")
        return Choices(images=images, slices=slices, default_image=image, default_slice=slice_name)


@dataclass(frozen=True)
class Team:
    name: str
    kind: TeamKind
    groups: frozenset[str]
    policy: Policy
    instructor_groups: frozenset[str] = frozenset()
    instructor_policy: Policy | None = None
    description: str = ""

    def policy_for(self, role: Role) -> Policy:
        if role is Role.INSTRUCTOR and self.instructor_policy is not None:
            return self.instructor_policy
        return self.policy


@dataclass(frozen=True)
class Membership:
    team: Team
    role: Role

    @property
    def policy(self) -> Policy:
        return self.team.policy_for(self.role)


@dataclass(frozen=True)
class Teams:
    """Every team of the site, in site-file order."""

    teams: tuple[Team, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.teams)

    def get(self, name: str | None) -> Team | None:
        return next((t for t in self.teams if t.name == name), None)

    def membership(self, groups: Iterable[str]) -> Membership | None:
        """The user's team and role from their groups (first matching team wins)."""
        groups = frozenset(groups)
        for team in self.teams:
            if groups & team.instructor_groups:
                return Membership(team, Role.INSTRUCTOR)
            if groups & team.groups:
                return Membership(team, Role.MEMBER)
        return None

    def membership_in(self, team_name: str | None, groups: Iterable[str]) -> Membership | None:
        """The user's role in ``team_name`` (the team an allocation is charged to)."""
        team = self.get(team_name)
        if team is None:
            return None
        groups = frozenset(groups)
        role = Role.INSTRUCTOR if groups & team.instructor_groups else Role.MEMBER
        return Membership(team, role)

    def login_groups(self) -> frozenset[str]:
        """Every group that lets its members log in."""
        out: set[str] = set()
        for team in self.teams:
            out |= team.groups | team.instructor_groups
        return frozenset(out)

    def earliest_period_start(self, now: float) -> float:
        """The start of the longest current budget period: accounting reads from here."""
        periods = {t.policy.period for t in self.teams} or {Period.MONTH}
        return min(period_bounds(now, p)[0] for p in periods)


# --- building teams from the site file's ``teams`` section ------------------------------

TEAM_LEVEL_KEYS = ("max_slices_per_team",)
"""Policy keys that belong to the whole team: an instructor override may not change them."""


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _optional_duration(raw: Mapping[str, Any], key: str, where: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except PolicyError as e:
        raise PolicyError(f"{where}.{key}: {e}") from None
    if seconds <= 0:
        raise PolicyError(f"{where}.{key}: must be longer than 0 seconds")
    return seconds


def policy_from_mapping(
    raw: Mapping[str, Any], where: str, site_images: Sequence[str] = ()
) -> Policy:
    """A Policy from a merged policy mapping, with the checks a schema cannot make."""
    images = tuple(raw.get("images") or ())
    unknown = [i for i in images if site_images and i not in site_images]
    if unknown:
        raise PolicyError(f"{where}.images: {', '.join(unknown)} not among the site's images")
    slices = tuple(raw.get("slices") or ())
    for name in (*slices, raw.get("max_slice") or "cpu"):
        if name not in SLICES_BY_NAME:
            raise PolicyError(f"{where}: unknown slice {name!r}")
    hours = raw.get("gpu_hours") or {}
    warn = _optional_duration(raw, "warn_before", where)
    policy = Policy(
        images=images,
        slices=slices,
        max_slice=raw.get("max_slice"),
        max_slices_per_member=raw.get("max_slices_per_member"),
        max_slices_per_team=raw.get("max_slices_per_team"),
        period=Period(hours.get("period", "month")),
        gpu_hours_per_member=hours.get("per_member"),
        gpu_hours_per_team=hours.get("per_team"),
        idle_timeout=_optional_duration(raw, "idle_timeout", where),
        max_session=_optional_duration(raw, "max_session", where),
        warn_before=600 if warn is None else warn,
    )
    if not any(policy.allows_slice(s) for s in SLICES_BY_NAME):
        raise PolicyError(f"{where}: slices and max_slice leave no slice at all")
    member, team = policy.max_slices_per_member, policy.max_slices_per_team
    if member is not None and team is not None and member > team:
        raise PolicyError(
            f"{where}: max_slices_per_member ({member}) is more than max_slices_per_team ({team})"
        )
    if policy.max_session is not None and policy.warn_before >= policy.max_session:
        raise PolicyError(
            f"{where}: warn_before ({format_duration(policy.warn_before)}) must be shorter "
            f"than max_session ({format_duration(policy.max_session)})"
        )
    return policy


def teams_from_site(section: Mapping[str, Any], site_images: Sequence[str] = ()) -> Teams:
    """Teams from the site file's ``teams`` section (``default_policy`` + one key per team).

    Raises PolicyError for what the schema cannot say: a group claimed by two teams, an
    instructor role outside a course, an instructor override of a team-wide limit,
    images the site does not offer, contradictory limits."""
    defaults = section.get("default_policy") or {}
    teams: list[Team] = []
    owner: dict[str, str] = {}
    for name, raw in section.items():
        if name == "default_policy":
            continue
        where = f"teams.{name}"
        merged = _merge(defaults, raw.get("policy") or {})
        policy = policy_from_mapping(merged, f"{where}.policy", site_images)
        kind = TeamKind(raw["kind"])
        groups = frozenset(raw["groups"])
        instructors = raw.get("instructors")
        instructor_groups: frozenset[str] = frozenset()
        instructor_policy = None
        if instructors is not None:
            if kind is not TeamKind.COURSE:
                raise PolicyError(f"{where}.instructors: only a course has instructors")
            override = instructors.get("policy") or {}
            shared = [k for k in TEAM_LEVEL_KEYS if k in override]
            if "per_team" in (override.get("gpu_hours") or {}):
                shared.append("gpu_hours.per_team")
            if "period" in (override.get("gpu_hours") or {}):
                shared.append("gpu_hours.period")
            if shared:
                raise PolicyError(
                    f"{where}.instructors.policy: {', '.join(shared)} is set for the whole "
                    f"team, in {where}.policy"
                )
            instructor_groups = frozenset(instructors["groups"])
            instructor_policy = policy_from_mapping(
                _merge(merged, override), f"{where}.instructors.policy", site_images
            )
        for group in sorted(groups | instructor_groups):
            if group in owner and owner[group] != name:
                raise PolicyError(
                    f"{where}: group {group!r} already maps to team {owner[group]!r} "
                    "(a group belongs to one team)"
                )
            owner[group] = name
        teams.append(
            Team(
                name=name,
                kind=kind,
                groups=groups,
                policy=policy,
                instructor_groups=instructor_groups,
                instructor_policy=instructor_policy,
                description=raw.get("description", ""),
            )
        )
    return Teams(tuple(teams))


# --- limits checked when a slice is reserved --------------------------------------------


class LimitCode(StrEnum):
    NO_TEAM = "no-team"
    MEMBER_CONCURRENCY = "member-concurrency"
    TEAM_CONCURRENCY = "team-concurrency"
    MEMBER_BUDGET = "member-budget"
    TEAM_BUDGET = "team-budget"


@dataclass(frozen=True)
class LimitRefusal:
    """A request the policy refuses: HTTP 403, with which limit and what is left."""

    code: LimitCode
    message: str
    status: int = 403


def no_team_refusal(user: str) -> LimitRefusal:
    return LimitRefusal(
        LimitCode.NO_TEAM,
        f"{user} is in no team of this hub, so no server can be started. Ask your team's "
        "administrator to add you to your team's group, then log in again.",
    )


class LiveRecord(Charged, Protocol):
    id: int
    server_name: str
    state: str


def _holds_gpu(record: Charged) -> bool:
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


@dataclass(frozen=True)
class Admission:
    """What a reservation must respect. The ledger calls ``admit`` inside its write
    transaction, with the records of this user and team that are live or were released
    after ``since``, so concurrent reservations cannot both slip under a limit."""

    user: str
    slice_name: str
    membership: Membership

    @property
    def team(self) -> str:
        return self.membership.team.name

    def since(self, now: float) -> float:
        return period_bounds(now, self.membership.team.policy.period)[0]

    def admit(self, records: Sequence[Charged], now: float) -> LimitRefusal | None:
        if not slice_profile(self.slice_name).needs_gpu:
            return None  # cpu holds no GPU and costs nothing: always allowed
        policy, team = self.membership.policy, self.membership.team
        live = [r for r in records if _holds_gpu(r)]
        mine = [r for r in live if r.user == self.user]
        cap = policy.max_slices_per_member
        if cap is not None and len(mine) >= cap:
            return LimitRefusal(
                LimitCode.MEMBER_CONCURRENCY,
                f"Limit reached: at most {cap} GPU slice(s) per member of team {team.name} at "
                f"a time, and you hold {len(mine)} ({_listing(mine)}); 0 left. Stop one of "
                "your servers first, or start a cpu server.",
            )
        theirs = [r for r in live if r.team == team.name]
        cap = team.policy.max_slices_per_team
        if cap is not None and len(theirs) >= cap:
            return LimitRefusal(
                LimitCode.TEAM_CONCURRENCY,
                f"Limit reached: team {team.name} may hold at most {cap} GPU slice(s) at a "
                f"time and holds {len(theirs)} now; 0 left. Try again when a teammate stops "
                "a server, or start a cpu server.",
            )
        status = budget_status(self.membership, self.user, records, now)
        period = f"this {status.period.value} (resets {_when(status.period_end)})"
        if status.member_left is not None and status.member_left <= 0:
            return LimitRefusal(
                LimitCode.MEMBER_BUDGET,
                f"GPU-hour budget used up: you have used {format_hours(status.member_used)} "
                f"of your {format_hours(status.member_limit or 0)} GPU-hours {period}; 0 left. "
                "A cpu server is still available.",
            )
        if status.team_left is not None and status.team_left <= 0:
            return LimitRefusal(
                LimitCode.TEAM_BUDGET,
                f"GPU-hour budget used up: team {team.name} has used "
                f"{format_hours(status.team_used)} of its {format_hours(status.team_limit or 0)} "
                f"GPU-hours {period}; 0 left. A cpu server is still available.",
            )
        return None


def _listing(records: Sequence[Any]) -> str:
    return ", ".join(
        f"{getattr(r, 'server_name', '') or 'default server'}: {r.slice_name}" for r in records
    )


# --- warnings and stops for running servers ---------------------------------------------


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
            if now >= deadline - membership.policy.warn_before:
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
                f"This server is stopped at {_when(end)}: sessions of team {team.name} last "
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
        rate = burn_rate(r for r in pool if _holds_gpu(r))
        if limit is None or rate <= 0:
            continue
        left = max(0.0, limit - total_gpu_hours(pool, start, now))
        end = now + left / rate * 3600
        out.append(
            (
                kind,
                end,
                f"{whose} GPU-hours run out at {_when(end)} ({format_hours(left)} of "
                f"{format_hours(limit)} left this {team.policy.period.value}); GPU servers "
                "are stopped then. Save your work.",
            )
        )
    return out
