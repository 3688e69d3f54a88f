"""Teams, roles and their policy as plain values: who belongs where (by group), and
which images and slices a policy leaves of what the site offers. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from ..options import Choices
from ..profiles import no_larger
from ..usage import Period, period_bounds


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


def format_when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Policy:
    """What one role of one team may do. ``None`` means no limit.

    No field has a default: every value comes from the site file's policy merged over
    ``teams.default_policy`` (hub_config/defaults.yaml, the one place the defaults are
    written), through ``loading.policy_from_mapping``."""

    images: tuple[str, ...]
    """Allowed images; empty = every image of the site."""
    slices: tuple[str, ...]
    """Allowed slices; empty = every slice of the site up to ``max_slice``."""
    max_slice: str | None
    max_slices_per_member: int | None
    max_slices_per_team: int | None
    period: Period
    gpu_hours_per_member: float | None
    gpu_hours_per_team: float | None
    idle_timeout: int | None
    max_session: int | None
    warn_before: int

    def allows_slice(self, name: str) -> bool:
        if self.slices and name not in self.slices:
            return False
        # The cap is a share of one GPU whatever its model: on a site with H100 and H200
        # nodes it admits the H200's 2g.35gb as it admits the H100's 2g.20gb.
        return self.max_slice is None or no_larger(name, self.max_slice)

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
