"""The capacity page's charts as time series over buckets of time, from ledger records.
Pure: the caller passes the records, the inventory, the buckets and ``now``.

Each chart reuses the fact it draws instead of computing it a second way:

- *slices in use* per profile: the seconds accounting charges (``charged_seconds``:
  from the server's activation to its release) in each bucket, divided by the bucket's
  length, i.e. the mean number of slices of that profile running;
- *queue length* per requested slice: the mean number of starts waiting in the ledger's
  waitlist, from each entry's arrival to the end of its wait (a start, leaving, expiry);
- *GPU-hours per team per day*: ``usage_rows`` and ``totals`` of each UTC day, the very
  figures of ``api/usage`` for that day;
- *fragmentation lost* per profile: the mean number of MIG GPUs on which
  ``fragmentation_view`` finds the profile fragmented (enough free memory and compute,
  no aligned place), over the allocations that held slots at each moment.

A bucket that ``now`` falls in is measured over its elapsed part only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import pairwise

from spawners.core.model import Inventory
from spawners.core.usage import totals, usage_rows
from spawners.ledger.records import AllocationRecord, QueueEntry

from .fragmentation import fragmentation_view


class Bucket(StrEnum):
    """How long each point of a chart is, aligned on UTC hours or days."""

    HOUR = "hour"
    DAY = "day"

    @property
    def seconds(self) -> int:
        return 3600 if self is Bucket.HOUR else 86400


@dataclass(frozen=True)
class Buckets:
    """Consecutive buckets from ``starts[0]``, each ``bucket.seconds`` long, the last
    one cut at ``now`` when ``now`` falls in it."""

    bucket: Bucket
    starts: tuple[float, ...]
    now: float

    def spans(self) -> list[tuple[float, float]]:
        width = self.bucket.seconds
        return [(a, min(a + width, self.now)) for a in self.starts]


def buckets_over(since: float, until: float, bucket: Bucket, now: float) -> Buckets:
    """The buckets that cover ``[since, min(until, now))``, widened to whole buckets
    (UTC has no daylight saving, so a day bucket starts at a multiple of 86,400 s)."""
    width = bucket.seconds
    end = min(until, now)
    first = since - since % width
    count = 0 if end <= since else int(-((first - end) // width))
    return Buckets(bucket, tuple(first + i * width for i in range(count)), now)


@dataclass(frozen=True)
class Chart:
    """One chart: a value per bucket for each labelled series."""

    name: str
    unit: str
    buckets: Buckets
    series: dict[str, tuple[float, ...]] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "unit": self.unit,
            "bucket": self.buckets.bucket.value,
            "starts": list(self.buckets.starts),
            "series": {k: [round(v, 6) for v in vs] for k, vs in self.series.items()},
        }


def _series(per_bucket: Sequence[Counter[str] | dict[str, float]]) -> dict[str, tuple[float, ...]]:
    labels = sorted({k for values in per_bucket for k in values})
    return {k: tuple(float(values.get(k, 0.0)) for values in per_bucket) for k in labels}


def slices_in_use(records: Iterable[AllocationRecord], buckets: Buckets) -> Chart:
    """Mean GPU slices running per profile in each bucket (servers without a GPU are
    not slices of one)."""
    on_gpu = [r for r in records if r.gpu_uuid is not None]
    per_bucket: list[Counter[str]] = []
    for a, b in buckets.spans():
        held: Counter[str] = Counter()
        for row in usage_rows(on_gpu, a, b):
            held[row.slice_name] += row.seconds / (b - a)
        per_bucket.append(held)
    return Chart("slices", "slices", buckets, _series(per_bucket))


def queue_length(entries: Iterable[QueueEntry], buckets: Buckets) -> Chart:
    """Mean starts waiting per requested slice in each bucket."""
    entries = list(entries)
    per_bucket: list[Counter[str]] = []
    for a, b in buckets.spans():
        waiting: Counter[str] = Counter()
        for e in entries:
            end = b if e.ended_at is None else min(e.ended_at, b)
            seconds = end - max(e.enqueued_at, a)
            if seconds > 0:
                waiting[e.slice_name] += seconds / (b - a)
        per_bucket.append(waiting)
    return Chart("queue", "starts", buckets, _series(per_bucket))


def gpu_hours_per_team(records: Sequence[AllocationRecord], days: Buckets) -> Chart:
    """GPU-hours charged to each team in each day (``""``: charged to no team)."""
    per_day = [totals(usage_rows(records, a, b), "team") for a, b in days.spans()]
    return Chart("gpu-hours", "GPU-hours", days, _series(per_day))


def _held_at(records: Sequence[AllocationRecord], t: float) -> list[AllocationRecord]:
    """The allocations holding slots at ``t``: reserved at or before it, not yet
    released (a quarantined one counts until its server stopped: the ledger keeps no
    later time)."""
    return [
        r
        for r in records
        if r.gpu_uuid is not None
        and r.created_at <= t
        and (r.released_at is None or r.released_at > t)
    ]


def fragmentation_lost(
    inventory: Inventory, records: Sequence[AllocationRecord], buckets: Buckets
) -> Chart:
    """Mean number of MIG GPUs on which each profile was fragmented, per bucket.

    The holdings change only when an allocation is reserved or released, so each
    bucket is cut at those moments and every stretch between them is judged once (a
    stretch with the same holdings as an earlier one reuses its judgement)."""
    changes = sorted(
        {r.created_at for r in records} | {r.released_at for r in records if r.released_at}
    )
    judged: dict[frozenset[int], Counter[str]] = {}
    per_bucket: list[Counter[str]] = []
    for a, b in buckets.spans():
        cuts = [a, *(t for t in changes if a < t < b), b]
        lost: Counter[str] = Counter()
        for s, e in pairwise(cuts):
            held = _held_at(records, s)
            key = frozenset(r.id for r in held)
            if key not in judged:
                judged[key] = Counter(
                    blocked["profile"]
                    for gpu in fragmentation_view(inventory, held)
                    for blocked in gpu["blocked"]
                    if blocked["fragmented"]
                )
            for profile, gpus in judged[key].items():
                lost[profile] += gpus * (e - s) / (b - a)
        per_bucket.append(lost)
    return Chart("fragmentation", "GPUs", buckets, _series(per_bucket))
