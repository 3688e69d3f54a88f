"""The capacity page's charts as plain data: the query they answer (a range and a
bucket), all charts at once for the page (JSON) and one chart as CSV. Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from spawners.core.csvsafe import spreadsheet_safe
from spawners.core.model import Inventory
from spawners.core.usage import NO_TEAM
from spawners.ledger.records import AllocationRecord, QueueEntry

from .accounting import RangeError, parse_instant
from .series import (
    Bucket,
    Chart,
    buckets_over,
    fragmentation_lost,
    gpu_hours_per_team,
    queue_length,
    slices_in_use,
)

CHARTS = ("slices", "queue", "gpu-hours", "fragmentation")
"""The charts, in the page's order; ``api/charts/<name>.csv`` serves each."""

DEFAULT_DAYS = 7
MAX_BUCKETS = 1500
"""About two months of hours: a longer range asks for day buckets."""

NO_TEAM_LABEL = "(no team)"
"""The CSV's heading for GPU-hours charged to no team (the JSON's ``""``)."""


@dataclass(frozen=True)
class ChartQuery:
    since: float
    until: float
    bucket: Bucket

    @property
    def reads_from(self) -> float:
        """Where the earliest bucket of any chart starts: the UTC day of ``since`` (the
        GPU-hours' bucket, which holds the others'). Records from there on count."""
        return self.since - self.since % Bucket.DAY.seconds


def parse_chart_query(args: Mapping[str, str], now: float) -> ChartQuery:
    """``since``/``until`` (ISO 8601 or unix seconds; default: the last 7 days up to now)
    and ``bucket`` (``hour``, the default, or ``day``). Raises RangeError, safe to show."""
    raw_bucket = (args.get("bucket") or Bucket.HOUR.value).strip()
    if raw_bucket not in {b.value for b in Bucket}:
        raise RangeError("bucket: use " + " or ".join(b.value for b in Bucket))
    bucket = Bucket(raw_bucket)
    until = parse_instant(args["until"], "until") if args.get("until") else now
    since = (
        parse_instant(args["since"], "since") if args.get("since") else until - DEFAULT_DAYS * 86400
    )
    if until <= since:
        raise RangeError("until must be after since")
    if since >= now:
        raise RangeError("since must be in the past")
    count = len(buckets_over(since, until, bucket, now).starts)
    if count > MAX_BUCKETS:
        raise RangeError(
            f"the range holds {count} {bucket.value} buckets, more than {MAX_BUCKETS}:"
            " choose a shorter range or bucket=day"
        )
    return ChartQuery(since, until, bucket)


def capacity_charts(
    query: ChartQuery,
    inventory: Inventory,
    records: Sequence[AllocationRecord],
    queue: Sequence[QueueEntry],
    now: float,
) -> dict[str, Chart]:
    """Every chart of the page over the query's range (``records`` and ``queue``: the
    allocations and waitlist entries that overlap it); GPU-hours are always per day."""
    buckets = buckets_over(query.since, query.until, query.bucket, now)
    days = buckets_over(query.since, query.until, Bucket.DAY, now)
    return {
        "slices": slices_in_use(records, buckets),
        "queue": queue_length(queue, buckets),
        "gpu-hours": gpu_hours_per_team(records, days),
        "fragmentation": fragmentation_lost(inventory, records, buckets),
    }


def charts_json(query: ChartQuery, charts: Mapping[str, Chart], now: float) -> dict:
    return {
        "since": query.since,
        "until": query.until,
        "now": now,
        "charts": [charts[name].as_json() for name in CHARTS],
    }


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def chart_csv(chart: Chart) -> str:
    """One line per bucket (its UTC start, then a column per series). Headings are
    names a site or a user chose, so they are made spreadsheet-safe; figures stay
    numbers."""
    labels = list(chart.series)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    headings = [NO_TEAM_LABEL if k == NO_TEAM else k for k in labels]
    writer.writerow(["start", *(spreadsheet_safe(h) for h in headings)])
    for i, start in enumerate(chart.buckets.starts):
        writer.writerow([_utc(start), *(f"{chart.series[k][i]:.6f}" for k in labels)])
    return out.getvalue()
