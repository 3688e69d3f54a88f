"""The capacity page's charts, from hand-made ledger records whose series are worked out
by hand here (from the MIG table and the records' times), not by the code under test."""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from extensions.slices_service.accounting import RangeError
from extensions.slices_service.charts import (
    MAX_BUCKETS,
    ChartQuery,
    capacity_charts,
    chart_csv,
    charts_json,
    parse_chart_query,
)
from extensions.slices_service.fragmentation import fragmentation_view
from extensions.slices_service.series import (
    Bucket,
    buckets_over,
    fragmentation_lost,
    gpu_hours_per_team,
    queue_length,
    slices_in_use,
)
from spawners.core.allocator import allocate
from spawners.core.model import Placement
from spawners.core.usage import totals, usage_rows
from spawners.inventory.simulated import simulated_inventory
from spawners.ledger.records import QueueEntry
from tests.extensions.records import record

H = 3600.0
T0 = datetime(2025, 3, 10, tzinfo=UTC).timestamp()  # a Monday, 00:00 UTC
INV = simulated_inventory(1)
GPU0 = INV.gpus[0].uuid


def ran(n, user, slice_name, start, since, until, *, team=None, weight=0.0):
    """A record on GPU 0 (``start`` None: no GPU) active in [T0+since, T0+until) hours."""
    return record(
        n,
        user,
        slice_name,
        GPU0 if start is not None else None,
        start,
        team=team,
        weight=weight,
        created_at=T0 + since * H,
        activated_at=T0 + since * H,
        released_at=None if until is None else T0 + until * H,
        state="active" if until is None else "released",
    )


# --- buckets -------------------------------------------------------------------------


def test_buckets_are_whole_utc_hours_or_days_and_the_current_one_ends_now() -> None:
    hours = buckets_over(T0 + 1.5 * H, T0 + 4.2 * H, Bucket.HOUR, now=T0 + 100 * H)
    assert hours.starts == (T0 + H, T0 + 2 * H, T0 + 3 * H, T0 + 4 * H)
    cut = buckets_over(T0 + 1.5 * H, T0 + 9 * H, Bucket.HOUR, now=T0 + 4.5 * H)
    assert cut.starts == (T0 + H, T0 + 2 * H, T0 + 3 * H, T0 + 4 * H)
    assert cut.spans()[-1] == (T0 + 4 * H, T0 + 4.5 * H)
    days = buckets_over(T0 + 5 * H, T0 + 30 * H, Bucket.DAY, now=T0 + 100 * H)
    assert days.starts == (T0, T0 + 24 * H)
    assert buckets_over(T0 + 5 * H, T0 + 6 * H, Bucket.HOUR, now=T0).starts == ()


# --- slices in use -------------------------------------------------------------------


def test_slices_in_use_are_the_mean_running_per_profile_in_each_hour() -> None:
    records = [
        ran(1, "a", "1g.10gb", 6, 0.5, 1.5),
        ran(2, "b", "1g.10gb", 5, 1.0, None),  # still running
        ran(3, "c", "3g.40gb", 0, 0.0, 2.0),
        ran(4, "d", "cpu", None, 0.0, None),  # no GPU: no slice of one
        # Reserved, never answered: held nothing that ran.
        record(5, "e", "2g.20gb", GPU0, 4, created_at=T0, activated_at=None),
    ]
    buckets = buckets_over(T0, T0 + 3 * H, Bucket.HOUR, now=T0 + 2.5 * H)
    chart = slices_in_use(records, buckets)
    assert chart.buckets.starts == (T0, T0 + H, T0 + 2 * H)
    # Hour 0: a half of it; hour 1: a's last half and b all of it; the half hour
    # elapsed of hour 2: b all of it.
    assert chart.series == {"1g.10gb": (0.5, 1.5, 1.0), "3g.40gb": (1.0, 1.0, 0.0)}


# --- queue length -------------------------------------------------------------------


def waited(n: int, slice_name: str, since: float, until: float | None) -> QueueEntry:
    """A waitlist entry that waited in [T0+since, T0+until) hours (None: still waits)."""
    return QueueEntry(
        id=n,
        user=f"u{n}",
        server_name="",
        team=None,
        image="base",
        slice_name=slice_name,
        state="waiting" if until is None else "started",
        epoch="e",
        enqueued_at=T0 + since * H,
        expires_at=T0 + 99 * H,
        ended_at=None if until is None else T0 + until * H,
        allocation_id=None,
    )


def test_queue_length_is_the_mean_number_waiting_per_requested_slice() -> None:
    entries = [
        waited(1, "1g.10gb", 0.5, 1.25),
        waited(2, "1g.10gb", 0.75, None),  # still waiting
        waited(3, "7g.80gb", 1.5, 1.75),
    ]
    chart = queue_length(entries, buckets_over(T0, T0 + 2 * H, Bucket.HOUR, now=T0 + 1.5 * H))
    # Hour 0: 1 waits its last half, 2 its last quarter. Hour 1 (its elapsed half hour):
    # 1 waits the first quarter hour of it, 2 all of it; 3 came when the range ended.
    assert chart.series == {"1g.10gb": (0.75, 1.5)}
    later = queue_length(entries, buckets_over(T0 + H, T0 + 2 * H, Bucket.HOUR, T0 + 2 * H))
    assert later.series == {"1g.10gb": (1.25,), "7g.80gb": (0.25,)}


# --- GPU-hours per team per day -----------------------------------------------------------


def test_gpu_hours_per_team_per_day_split_at_midnight_and_charge_up_to_now() -> None:
    records = [
        # 23:00 to 02:00: one hour on Monday, two on Tuesday, at 1/7 of a GPU.
        ran(1, "a", "1g.10gb", 6, 23, 26, team="alpha", weight=1 / 7),
        ran(2, "c", "3g.40gb", 0, 2, 4, team="beta", weight=0.5),
        ran(3, "z", "7g.80gb", 0, 29, None, weight=1.0),  # no team, still running
    ]
    days = buckets_over(T0, T0 + 48 * H, Bucket.DAY, now=T0 + 30 * H)
    chart = gpu_hours_per_team(records, days)
    assert chart.buckets.starts == (T0, T0 + 24 * H)
    assert chart.series["alpha"] == pytest.approx((1 / 7, 2 / 7))
    assert chart.series["beta"] == pytest.approx((1.0, 0.0))
    assert chart.series[""] == pytest.approx((0.0, 1.0))
    # The days add up to what api/usage charges over the whole range.
    whole = totals(usage_rows(records, T0, T0 + 30 * H), "team")
    for team, per_day in chart.series.items():
        assert sum(per_day) == pytest.approx(whole[team])


def test_slices_in_use_times_their_weight_are_the_gpu_hours() -> None:
    records = [
        ran(1, "a", "1g.10gb", 6, 0.25, 5.5, team="t", weight=1 / 7),
        ran(2, "b", "3g.40gb", 0, 3.0, None, team="t", weight=0.5),
    ]
    now = T0 + 20 * H
    hours = slices_in_use(records, buckets_over(T0, now, Bucket.HOUR, now))
    days = gpu_hours_per_team(records, buckets_over(T0, now, Bucket.DAY, now))
    weight = {"1g.10gb": 1 / 7, "3g.40gb": 0.5}
    from_slices = sum(weight[k] * sum(v) for k, v in hours.series.items())  # 1 h buckets
    assert from_slices == pytest.approx(sum(days.series["t"]))
    assert from_slices == pytest.approx(5.25 / 7 + 17 * 0.5)


# --- fragmentation lost -------------------------------------------------------------------


def test_fragmentation_lost_is_the_time_weighted_count_of_blocked_gpus() -> None:
    # x: a 2g.20gb at slots 0-1 all along. Alone it leaves 6 slots and 5 compute free, but
    # 4g.40gb may only start at 0: fragmented. 3g.40gb still fits at 4.
    # y: a 1g.10gb at slot 4 from 00:15 to 00:45; with it 5 slots and 4 compute are free,
    # and 3g.40gb's starts (0 and 4) are both taken: fragmented too. 7g.80gb is short of
    # memory (not fragmentation).
    records = [
        record(1, "x", "2g.20gb", GPU0, 0, created_at=T0, released_at=None),
        record(2, "y", "1g.10gb", GPU0, 4, created_at=T0 + 0.25 * H, released_at=T0 + 0.75 * H),
    ]
    buckets = buckets_over(T0, T0 + 2 * H, Bucket.HOUR, now=T0 + 2 * H)
    chart = fragmentation_lost(INV, records, buckets)
    assert chart.series == {"3g.40gb": (0.5, 0.0), "4g.40gb": (1.0, 1.0)}


def test_an_empty_gpu_and_a_full_one_lose_nothing_to_fragmentation() -> None:
    records = [record(1, "w", "7g.80gb", GPU0, 0, created_at=T0 + H, released_at=None)]
    chart = fragmentation_lost(INV, records, buckets_over(T0, T0 + 2 * H, Bucket.HOUR, T0 + 2 * H))
    assert chart.series == {}


def test_a_release_and_a_reservation_at_the_same_moment_and_gpus_it_does_not_know() -> None:
    # y leaves slot 4 at 00:30 and z takes it at that very moment: no instant without one.
    records = [
        record(1, "x", "2g.20gb", GPU0, 0, created_at=T0 - 5 * H, released_at=None),
        record(2, "y", "1g.10gb", GPU0, 4, created_at=T0 - H, released_at=T0 + 0.5 * H),
        record(3, "z", "1g.10gb", GPU0, 4, created_at=T0 + 0.5 * H, released_at=None),
        record(4, "w", "7g.80gb", "GPU-gone", 0, created_at=T0, released_at=None),
    ]
    chart = fragmentation_lost(INV, records, buckets_over(T0, T0 + H, Bucket.HOUR, T0 + H))
    assert chart.series == {"3g.40gb": (1.0,), "4g.40gb": (1.0,)}


def test_fragmentation_lost_is_its_definition_on_a_generated_history() -> None:
    """Against the definition, stretch by stretch: the holdings at each moment judged by
    fragmentation_view over the whole inventory, on placements of the real allocator."""
    rnd = random.Random(7)
    inv = simulated_inventory(3)
    profiles = ["1g.10gb", "1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb"]
    records: list = []
    for n in range(80):
        t = T0 + n * 0.3 * H
        live = [r for r in records if r.released_at is None or r.released_at > t]
        decision = allocate(inv, [r.holding() for r in live], rnd.choice(profiles))
        if isinstance(decision, Placement):
            ends = None if n % 9 == 0 else t + rnd.uniform(0.1, 4) * H
            records.append(
                record(
                    n,
                    f"u{n}",
                    decision.slice_name,
                    decision.gpu_uuid,
                    decision.start,
                    created_at=t,
                    released_at=ends,
                )
            )
    buckets = buckets_over(T0 + 2.2 * H, T0 + 30 * H, Bucket.HOUR, now=T0 + 27.5 * H)
    chart = fragmentation_lost(inv, records, buckets)
    changes = {r.created_at for r in records} | {r.released_at for r in records if r.released_at}
    for i, (a, b) in enumerate(buckets.spans()):
        cuts = sorted({a, b} | {t for t in changes if a < t < b})
        expected: Counter[str] = Counter()
        for s, e in zip(cuts, cuts[1:], strict=False):
            held = [
                r
                for r in records
                if r.created_at <= s and (r.released_at is None or r.released_at > s)
            ]
            for gpu in fragmentation_view(inv, held):
                for blocked in gpu["blocked"]:
                    if blocked["fragmented"]:
                        expected[blocked["profile"]] += (e - s) / (b - a)
        got = {k: v[i] for k, v in chart.series.items() if v[i]}
        assert got == pytest.approx(dict(expected)), (i, got, expected)
    assert chart.series  # the history does fragment


# --- the query and the CSV --------------------------------------------------------------


NOW = T0 + 10 * 24 * H


def test_the_query_defaults_to_the_last_seven_days_by_the_hour() -> None:
    query = parse_chart_query({}, NOW)
    assert query == ChartQuery(NOW - 7 * 24 * H, NOW, Bucket.HOUR)
    day = parse_chart_query({"since": "2025-03-11", "until": "2025-03-13", "bucket": "day"}, NOW)
    assert (day.since, day.until, day.bucket) == (T0 + 24 * H, T0 + 72 * H, Bucket.DAY)
    # The first hour's bucket, and the GPU-hours' day, begin before a since mid-day.
    assert parse_chart_query({"since": str(T0 + 30.5 * H)}, NOW).reads_from == T0 + 24 * H


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"bucket": "minute"}, "bucket: use hour or day"),
        ({"since": "yesterday"}, "since: not a date"),
        ({"since": "2025-03-12", "until": "2025-03-11"}, "until must be after since"),
        ({"since": str(NOW + H), "until": str(NOW + 2 * H)}, "since must be in the past"),
        ({"since": "2024-12-01"}, f"more than {MAX_BUCKETS}: choose a shorter range or bucket=day"),
    ],
)
def test_a_query_the_charts_cannot_answer_says_why(args: dict, message: str) -> None:
    with pytest.raises(RangeError, match=message.replace("(", r"\(")):
        parse_chart_query(args, NOW)


def test_a_long_range_by_the_day_is_fine() -> None:
    assert parse_chart_query({"since": "2024-12-01", "bucket": "day"}, NOW).bucket is Bucket.DAY


def test_the_csv_has_a_row_per_bucket_and_formula_safe_headings() -> None:
    records = [
        ran(1, "a", "1g.10gb", 6, 1, 2, team="=HYPERLINK(1)", weight=1 / 7),
        ran(2, "b", "3g.40gb", 0, 1, 3, weight=0.5),
    ]
    query = ChartQuery(T0, T0 + 24 * H, Bucket.HOUR)
    charts = capacity_charts(query, INV, records, [waited(9, "=1+1", 1, 2)], now=T0 + 4 * H)
    rows = list(csv.reader(io.StringIO(chart_csv(charts["gpu-hours"]))))
    assert rows == [
        ["start", "(no team)", "'=HYPERLINK(1)"],
        ["2025-03-10T00:00:00Z", "1.000000", "0.142857"],
    ]
    slices = list(csv.reader(io.StringIO(chart_csv(charts["slices"]))))
    assert slices[0] == ["start", "1g.10gb", "3g.40gb"]
    assert [r[0] for r in slices[1:]] == [f"2025-03-10T0{h}:00:00Z" for h in range(4)]
    assert slices[2] == ["2025-03-10T01:00:00Z", "1.000000", "1.000000"]
    queue = list(csv.reader(io.StringIO(chart_csv(charts["queue"]))))
    assert queue[0] == ["start", "'=1+1"] and queue[2][1] == "1.000000"
    # The JSON carries the same figures, GPU-hours per day whatever the bucket.
    page = charts_json(query, charts, T0 + 4 * H)
    assert [c["name"] for c in page["charts"]] == ["slices", "queue", "gpu-hours", "fragmentation"]
    assert page["charts"][2]["bucket"] == "day"
    assert page["charts"][0]["series"]["3g.40gb"] == [0.0, 1.0, 1.0, 0.0]
