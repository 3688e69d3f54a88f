"""GPU-hour accounting from allocation records. Pure: the caller passes ``now`` (its
injectable clock's reading), so the same records always give the same charge.

A record is charged from the moment its server answered (``activated_at``) until it was
released (or until ``now`` while it still runs), times the slice's GPU-hour weight saved
with the record at reservation (``weight``: a 1g.10gb hour is 1/7 of an H100-hour). A
reservation that never became active (a failed start) costs nothing. Because only the
ledger's timestamps count, the charge is the same whichever process, or how many
restarts of the hub, computes it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

SECONDS_PER_HOUR = 3600.0


class Charged(Protocol):
    """What accounting reads from an allocation record (``AllocationRecord`` fits)."""

    user: str
    team: str | None
    slice_name: str
    weight: float
    activated_at: float | None
    released_at: float | None


class Period(StrEnum):
    """A budget period, in UTC calendar units."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def period_bounds(now: float, period: Period) -> tuple[float, float]:
    """[start, end) of the calendar ``period`` (UTC) that contains ``now``."""
    at = datetime.fromtimestamp(now, UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.DAY:
        start, end = day, day + timedelta(days=1)
    elif period is Period.WEEK:
        start = day - timedelta(days=day.weekday())  # ISO weeks start on Monday
        end = start + timedelta(days=7)
    else:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    return start.timestamp(), end.timestamp()


def charged_seconds(record: Charged, since: float, until: float) -> float:
    """Seconds of ``[since, until)`` during which ``record`` held its slice and ran."""
    if record.activated_at is None:
        return 0.0
    end = until if record.released_at is None else min(record.released_at, until)
    return max(0.0, end - max(record.activated_at, since))


def gpu_hours(record: Charged, since: float, until: float) -> float:
    return record.weight * charged_seconds(record, since, until) / SECONDS_PER_HOUR


def total_gpu_hours(records: Iterable[Charged], since: float, until: float) -> float:
    return sum(gpu_hours(r, since, until) for r in records)


def burn_rate(records: Iterable[Charged]) -> float:
    """GPU-hours per hour that the running (active, unreleased) records cost now."""
    return sum(r.weight for r in records if r.activated_at is not None and r.released_at is None)


@dataclass(frozen=True)
class UsageRow:
    """Usage of one user's servers on one slice, charged to one team, in a period."""

    team: str
    user: str
    slice_name: str
    sessions: int
    seconds: float
    gpu_hours: float

    def as_json(self) -> dict[str, object]:
        return {
            "team": self.team,
            "user": self.user,
            "slice": self.slice_name,
            "sessions": self.sessions,
            "seconds": round(self.seconds, 3),
            "gpu_hours": round(self.gpu_hours, 6),
        }


NO_TEAM = ""
"""The team column of usage charged to nobody (a hub without teams)."""


def usage_rows(records: Iterable[Charged], since: float, until: float) -> list[UsageRow]:
    """Usage in ``[since, until)`` per (team, user, slice), sorted; nothing for idle keys."""
    sessions: dict[tuple[str, str, str], int] = defaultdict(int)
    seconds: dict[tuple[str, str, str], float] = defaultdict(float)
    hours: dict[tuple[str, str, str], float] = defaultdict(float)
    for r in records:
        s = charged_seconds(r, since, until)
        if s <= 0:
            continue
        key = (r.team or NO_TEAM, r.user, r.slice_name)
        sessions[key] += 1
        seconds[key] += s
        hours[key] += r.weight * s / SECONDS_PER_HOUR
    return [
        UsageRow(team, user, slice_name, sessions[k], seconds[k], hours[k])
        for k in sorted(sessions)
        for team, user, slice_name in [k]
    ]


def totals(rows: Iterable[UsageRow], by: str) -> dict[str, float]:
    """GPU-hours summed by ``team``, ``user`` or ``slice_name``."""
    out: dict[str, float] = defaultdict(float)
    for row in rows:
        out[getattr(row, by)] += row.gpu_hours
    return {k: round(v, 6) for k, v in sorted(out.items())}
