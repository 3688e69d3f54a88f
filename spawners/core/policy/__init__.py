"""Teams and their policy: which images and slices a member may pick, how many GPU slices
a member and a team may hold at once, how many GPU-hours per period, how long a server
may idle or run. Pure: plain values in, decisions out (the caller passes ``now``).

A user belongs to the first team (in site-file order) that lists one of their groups;
inside a course, members of an instructor group have the instructor role, whose policy
is the course's policy with the instructor overrides on top.

``teams`` (the values), ``loading`` (from the site file), ``limits`` (checked at
reservation), ``notices`` (warnings and stops for running servers)."""

from .limits import (
    Admission,
    BudgetStatus,
    LimitCode,
    LimitRefusal,
    budget_status,
    holds_gpu,
    min_slice_refusal,
    no_team_refusal,
)
from .loading import TEAM_LEVEL_KEYS, policy_from_mapping, teams_from_site
from .notices import LiveRecord, Notice, NoticeKind, notices
from .teams import (
    Membership,
    Policy,
    PolicyError,
    Role,
    Team,
    TeamKind,
    Teams,
    format_duration,
    format_hours,
    format_when,
    parse_duration,
)

__all__ = [
    "TEAM_LEVEL_KEYS",
    "Admission",
    "BudgetStatus",
    "LimitCode",
    "LimitRefusal",
    "LiveRecord",
    "Membership",
    "Notice",
    "NoticeKind",
    "Policy",
    "PolicyError",
    "Role",
    "Team",
    "TeamKind",
    "Teams",
    "budget_status",
    "format_duration",
    "format_hours",
    "format_when",
    "holds_gpu",
    "min_slice_refusal",
    "no_team_refusal",
    "notices",
    "parse_duration",
    "policy_from_mapping",
    "teams_from_site",
]
