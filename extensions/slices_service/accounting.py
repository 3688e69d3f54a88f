"""Usage, budgets and warnings as plain data (JSON and CSV), from ledger records."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from spawners.core.csvsafe import spreadsheet_safe
from spawners.core.policy import (
    Membership,
    Policy,
    Teams,
    budget_status,
    format_duration,
    notices,
)
from spawners.core.usage import (
    Period,
    UsageRow,
    charged_seconds,
    gpu_hours,
    period_bounds,
    totals,
    usage_rows,
)
from spawners.ledger.records import AllocationRecord

CSV_FIELDS = ("team", "user", "slice", "sessions", "seconds", "gpu_hours")


class RangeError(ValueError):
    """A period the usage API cannot read; the message is safe to show."""


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_instant(raw: str, name: str) -> float:
    """A time given as ISO 8601 (UTC when no offset) or unix seconds; ``name`` words the
    error."""
    raw = raw.strip()
    if re.fullmatch(r"\d{1,12}(\.\d+)?", raw):
        return float(raw)
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise RangeError(
            f"{name}: not a date (use 2025-01-31, 2025-01-31T12:00:00Z or unix seconds)"
        ) from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def parse_range(args: Mapping[str, str], now: float) -> tuple[float, float]:
    """[since, until) from ``month=YYYY-MM`` or ``since``/``until``; default: this month."""
    if args.get("month"):
        match = _MONTH.fullmatch(args["month"].strip())
        if match is None or not 1 <= int(match[2]) <= 12:
            raise RangeError("month: use YYYY-MM")
        start = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC).timestamp()
        return period_bounds(start, Period.MONTH)
    default_since, default_until = period_bounds(now, Period.MONTH)
    since = parse_instant(args["since"], "since") if args.get("since") else default_since
    until = parse_instant(args["until"], "until") if args.get("until") else default_until
    if until <= since:
        raise RangeError("until must be after since")
    return since, until


def usage_report(records: Sequence[AllocationRecord], since: float, until: float, now: float):
    """Per (team, user, slice) rows and totals; running servers are charged up to now."""
    rows = usage_rows(records, since, min(until, now))
    return {
        "since": since,
        "until": until,
        "charged_until": min(until, now),
        "rows": [r.as_json() for r in rows],
        "by_team": totals(rows, "team"),
        "by_user": totals(rows, "user"),
        "by_slice": totals(rows, "slice_name"),
    }


def usage_csv(rows: Sequence[UsageRow]) -> str:
    """One line per row; names (a user may choose theirs) are made spreadsheet-safe, the
    figures are written as numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for r in rows:
        names = [spreadsheet_safe(v) for v in (r.team, r.user, r.slice_name)]
        writer.writerow([*names, r.sessions, f"{r.seconds:.3f}", f"{r.gpu_hours:.6f}"])
    return out.getvalue()


def policy_json(policy: Policy) -> dict[str, Any]:
    def duration(v: int | None) -> str | None:
        return None if v is None else format_duration(v)

    return {
        "images": list(policy.images),
        "slices": list(policy.slices),
        "max_slice": policy.max_slice,
        "max_slices_per_member": policy.max_slices_per_member,
        "max_slices_per_team": policy.max_slices_per_team,
        "gpu_hours": {
            "period": policy.period.value,
            "per_member": policy.gpu_hours_per_member,
            "per_team": policy.gpu_hours_per_team,
        },
        "idle_timeout": duration(policy.idle_timeout),
        "max_session": duration(policy.max_session),
        "warn_before": duration(policy.warn_before),
    }


def _server(record: AllocationRecord, now: float) -> dict[str, Any]:
    since = record.activated_at or record.created_at
    return {
        "server_name": record.server_name,
        "slice": record.slice_name,
        "image": record.image,
        "state": record.state,
        "team": record.team,
        "since": since,
        "gpu_hours": round(gpu_hours(record, since, now), 6),
        "seconds": round(charged_seconds(record, since, now), 3),
    }


def me_view(
    user: str,
    groups: frozenset[str],
    teams: Teams,
    records: Sequence[AllocationRecord],
    now: float,
) -> dict[str, Any]:
    """What a user may see: their servers, warnings, own usage and their team's."""
    membership = teams.membership(groups)
    mine = [r for r in records if r.user == user]
    view: dict[str, Any] = {
        "user": user,
        "now": now,
        "team": None,
        "role": None,
        "servers": [_server(r, now) for r in mine if r.released_at is None],
        "notices": [],
    }
    start, end = period_bounds(now, membership.team.policy.period if membership else Period.MONTH)
    view["period"] = {"start": start, "end": end}
    view["usage"] = [r.as_json() for r in usage_rows(mine, start, now)]
    if membership is None:
        return view
    team = membership.team
    view.update(
        team=team.name,
        kind=team.kind.value,
        role=membership.role.value,
        policy=policy_json(membership.policy),
        budget=budget_status(membership, user, records, now).as_json(),
    )
    in_team = [r for r in records if r.team == team.name]
    # Budget warnings concern the whole team's records, not only this user's.
    view["notices"] = [
        n.as_json()
        for n in notices(in_team, now, lambda r: _membership_of(teams, r, user, groups))
        if n.user == user
    ]
    team_rows = usage_rows(in_team, start, now)
    view["team_usage"] = {
        "gpu_hours": totals(team_rows, "team").get(team.name, 0.0),
        "by_slice": totals(team_rows, "slice_name"),
    }
    if membership.role.value == "instructor":
        view["team_usage"]["by_user"] = totals(team_rows, "user")
    return view


def _membership_of(
    teams: Teams, record: AllocationRecord, user: str, groups: frozenset[str]
) -> Membership | None:
    # Other members' roles are unknown here; only this user's notices are kept anyway.
    return teams.membership_in(record.team, groups if record.user == user else frozenset())


def teams_view(teams: Teams, records: Sequence[AllocationRecord], now: float) -> list[dict]:
    """Admins: every team, its policy, usage in its current period and live slices."""
    out = []
    for team in teams.teams:
        start, end = period_bounds(now, team.policy.period)
        rows = usage_rows([r for r in records if r.team == team.name], start, now)
        used = totals(rows, "team").get(team.name, 0.0)
        limit = team.policy.gpu_hours_per_team
        live = [r for r in records if r.team == team.name and r.released_at is None]
        out.append(
            {
                "name": team.name,
                "kind": team.kind.value,
                "groups": sorted(team.groups),
                "instructor_groups": sorted(team.instructor_groups),
                "policy": policy_json(team.policy),
                "instructor_policy": (
                    policy_json(team.instructor_policy) if team.instructor_policy else None
                ),
                "period": {"start": start, "end": end},
                "gpu_hours_used": used,
                "gpu_hours_left": None if limit is None else round(limit - used, 6),
                "by_user": totals(rows, "user"),
                "live": [{"user": r.user, **_server(r, now)} for r in live],
            }
        )
    return out
