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


def _charged_in_each(records: Iterable[AllocationRecord], buckets: Buckets) -> list[list]:
    """For each bucket, the records charged some time in it (from activation to release),
    so that each bucket reads only its own instead of the whole range's."""
    spans = buckets.spans()
    out: list[list[AllocationRecord]] = [[] for _ in spans]
    if not spans:
        return out
    first, width, end = spans[0][0], buckets.bucket.seconds, spans[-1][1]
    for r in records:
        if r.activated_at is None:
            continue
        stop = end if r.released_at is None else min(r.released_at, end)
        begin = max(r.activated_at, first)
        if stop <= begin:
            continue
        last = min(len(spans) - 1, int((stop - first) // width))
        for i in range(int((begin - first) // width), last + 1):
            out[i].append(r)
    return out


def slices_in_use(records: Iterable[AllocationRecord], buckets: Buckets) -> Chart:
    """Mean GPU slices running per profile in each bucket (servers without a GPU are
    not slices of one)."""
    on_gpu = [r for r in records if r.gpu_uuid is not None]
    per_bucket: list[Counter[str]] = []
    for (a, b), charged in zip(buckets.spans(), _charged_in_each(on_gpu, buckets), strict=True):
        held: Counter[str] = Counter()
        for row in usage_rows(charged, a, b):
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
    per_day = [
        totals(usage_rows(charged, a, b), "team")
        for (a, b), charged in zip(days.spans(), _charged_in_each(records, days), strict=True)
    ]
    return Chart("gpu-hours", "GPU-hours", days, _series(per_day))


def _fragmented(inventory: Inventory, gpu_uuid: str, held: list[AllocationRecord]) -> Counter[str]:
    """The profiles fragmentation_view finds fragmented on one GPU under ``held``."""
    gpu = Inventory(
        gpus=(inventory.gpu(gpu_uuid),), strategy=inventory.strategy, simulated=inventory.simulated
    )
    return Counter(
        blocked["profile"]
        for view in fragmentation_view(gpu, held)
        for blocked in view["blocked"]
        if blocked["fragmented"]
    )


def fragmentation_lost(
    inventory: Inventory, records: Sequence[AllocationRecord], buckets: Buckets
) -> Chart:
    """Mean number of MIG GPUs on which each profile was fragmented, per bucket.

    An allocation holds its slots from its reservation to its release (a quarantined one
    until its server stopped: the ledger keeps no later time). Holdings change only at
    those moments, and only on one GPU each, so time is swept once in order: at each
    change the GPU it touched is judged again (the same holdings reuse a judgement) and
    every stretch between changes adds its GPUs to the buckets it covers."""
    spans = buckets.spans()
    per_bucket: list[Counter[str]] = [Counter() for _ in spans]
    if not spans:
        return Chart("fragmentation", "GPUs", buckets, {})
    known = {g.uuid for g in inventory.gpus}
    mine = [r for r in records if r.gpu_uuid in known]
    events = sorted(
        [(r.created_at, 1, r) for r in mine]
        + [(r.released_at, 0, r) for r in mine if r.released_at is not None],
        key=lambda event: (event[0], event[1]),  # a release before a reservation at once
    )
    held: dict[str, dict[int, AllocationRecord]] = {uuid: {} for uuid in known}
    judged: dict[tuple[str, frozenset[int]], Counter[str]] = {}
    lost_on: dict[str, Counter[str]] = {uuid: Counter() for uuid in known}
    total: Counter[str] = Counter()

    def change(record: AllocationRecord, holds: bool) -> None:
        uuid = record.gpu_uuid or ""
        if holds:
            held[uuid][record.id] = record
        else:
            held[uuid].pop(record.id, None)
        key = (uuid, frozenset(held[uuid]))
        if key not in judged:
            judged[key] = _fragmented(inventory, uuid, list(held[uuid].values()))
        total.subtract(lost_on[uuid])
        lost_on[uuid] = judged[key]
        total.update(lost_on[uuid])

    first, end, width = spans[0][0], spans[-1][1], buckets.bucket.seconds

    def add(s: float, e: float) -> None:
        """The current fragmentation, held over [s, e), into the buckets it covers."""
        lost = {p: n for p, n in total.items() if n > 0}
        if not lost or e <= s:
            return
        i = int((s - first) // width)
        while i < len(spans) and spans[i][0] < e:
            a, b = spans[i]
            overlap = min(e, b) - max(s, a)
            if overlap > 0:
                for profile, gpus in lost.items():
                    per_bucket[i][profile] += gpus * overlap / (b - a)
            i += 1

    at = first
    for t, holds, record in events:
        if t > at:
            add(at, min(t, end))
            at = max(at, t)
        if t >= end:
            break
        change(record, bool(holds))
    add(at, end)
    return Chart("fragmentation", "GPUs", buckets, _series(per_bucket))
