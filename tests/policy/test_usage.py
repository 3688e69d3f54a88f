"""GPU-hour accounting: pure functions, then a scripted sequence of spawns and stops of
different slices on a real ledger with an injected clock, across a hub restart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction

import pytest

from spawners.core.profiles import SLICES_BY_NAME
from spawners.core.usage import (
    Period,
    charged_seconds,
    gpu_hours,
    period_bounds,
    totals,
    usage_rows,
)
from spawners.inventory.simulated import simulated_inventory
from spawners.ledger.ledger import Ledger

from .conftest import MARCH_10, FakeClock

HOUR = 3600.0


@dataclass(frozen=True)
class Rec:
    user: str = "alice"
    team: str | None = "alpha"
    slice_name: str = "1g.10gb"
    weight: float = 1 / 7
    activated_at: float | None = 0.0
    released_at: float | None = None


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


# Every slice's GPU-hour weight, as documented in README.md and docs/teams.md (the
# reference weights: on the H100 80GB for its names, and each other model's own).
WEIGHTS = {
    "cpu": Fraction(0),
    "1g.10gb": Fraction(1, 7),
    "1g.20gb": Fraction(1, 4),
    "2g.20gb": Fraction(2, 7),
    "3g.40gb": Fraction(1, 2),
    "4g.40gb": Fraction(4, 7),
    "7g.80gb": Fraction(1),
    # H100 94GB and H200 141GB: the same shares under their own names.
    **{n: Fraction(1, 7) for n in ("1g.12gb", "1g.18gb")},
    **{n: Fraction(1, 4) for n in ("1g.24gb", "1g.35gb")},
    **{n: Fraction(2, 7) for n in ("2g.24gb", "2g.35gb")},
    **{n: Fraction(1, 2) for n in ("3g.47gb", "3g.71gb")},
    **{n: Fraction(4, 7) for n in ("4g.47gb", "4g.71gb")},
    **{n: Fraction(1) for n in ("7g.94gb", "7g.141gb")},
    # A100 40GB names no other model has (its 1g.10gb is the H100's name: see below).
    "1g.5gb": Fraction(1, 7),
    "2g.10gb": Fraction(2, 7),
    "3g.20gb": Fraction(1, 2),
    "4g.20gb": Fraction(4, 7),
    "7g.40gb": Fraction(1),
    "mps.10gb": Fraction(1, 8),
    "mps.20gb": Fraction(1, 4),
    "mps.40gb": Fraction(1, 2),
    "gpu": Fraction(1),
}


def test_every_slice_has_its_documented_weight() -> None:
    assert {n: p.gpu_hour_weight for n, p in SLICES_BY_NAME.items()} == WEIGHTS


def test_a_slice_weighs_the_share_of_the_gpu_it_landed_on() -> None:
    # 1g.10gb is a seventh of an H100 80GB but, taking two of its eight memory slots,
    # a quarter of an A100 40GB: the placement carries the weight of its GPU.
    from spawners.core.allocator import allocate
    from spawners.core.model import Gpu, GpuMode, Inventory

    for model, weight in (("NVIDIA H100 80GB HBM3", Fraction(1, 7)), ("a100-40gb", Fraction(1, 4))):
        inventory = Inventory((Gpu(0, "GPU-w", model, GpuMode.MIG),))
        assert allocate(inventory, [], "1g.10gb").gpu_hour_weight == weight


@pytest.mark.parametrize(
    ("period", "now", "start", "end"),
    [
        (Period.MONTH, utc(2025, 3, 10, 15), utc(2025, 3, 1), utc(2025, 4, 1)),
        (Period.MONTH, utc(2024, 12, 31, 23, 59), utc(2024, 12, 1), utc(2025, 1, 1)),
        (Period.MONTH, utc(2024, 2, 29, 12), utc(2024, 2, 1), utc(2024, 3, 1)),
        (Period.WEEK, utc(2025, 3, 12, 8), utc(2025, 3, 10), utc(2025, 3, 17)),
        (Period.WEEK, utc(2025, 3, 9, 23), utc(2025, 3, 3), utc(2025, 3, 10)),
        (Period.DAY, utc(2025, 3, 10, 23, 59, 59), utc(2025, 3, 10), utc(2025, 3, 11)),
    ],
)
def test_period_bounds_are_utc_calendar_units(period, now, start, end) -> None:
    assert period_bounds(now, period) == (start, end)


@pytest.mark.parametrize(
    ("record", "since", "until", "seconds"),
    [
        (Rec(activated_at=100, released_at=400), 0, 1000, 300),
        (Rec(activated_at=100, released_at=400), 200, 1000, 200),  # started before the period
        (Rec(activated_at=100, released_at=400), 0, 250, 150),  # released after it
        (Rec(activated_at=100, released_at=None), 0, 1000, 900),  # still running: until now
        (Rec(activated_at=None, released_at=400), 0, 1000, 0),  # never answered: free
        (Rec(activated_at=100, released_at=400), 500, 1000, 0),
        (Rec(activated_at=600, released_at=None), 0, 500, 0),
    ],
)
def test_charged_seconds_is_the_overlap_with_the_period(record, since, until, seconds) -> None:
    assert charged_seconds(record, since, until) == seconds


def test_rows_group_by_team_user_and_slice() -> None:
    records = [
        Rec(activated_at=0, released_at=HOUR),
        Rec(activated_at=2 * HOUR, released_at=3 * HOUR),
        Rec(user="bob", slice_name="3g.40gb", weight=0.5, activated_at=0, released_at=2 * HOUR),
        Rec(user="carl", team=None, slice_name="cpu", weight=0.0, activated_at=0),
    ]
    rows = usage_rows(records, 0, 4 * HOUR)
    assert [(r.team, r.user, r.slice_name, r.sessions) for r in rows] == [
        ("", "carl", "cpu", 1),
        ("alpha", "alice", "1g.10gb", 2),
        ("alpha", "bob", "3g.40gb", 1),
    ]
    assert rows[1].gpu_hours == pytest.approx(2 / 7)
    assert rows[0].seconds == 4 * HOUR and rows[0].gpu_hours == 0
    assert totals(rows, "team") == {"": 0.0, "alpha": round(2 / 7 + 1.0, 6)}
    assert totals(rows, "user")["bob"] == 1.0


def reserve(ledger: Ledger, user: str, slice_name: str, epoch: str, server: str = ""):
    record = ledger.reserve(
        user=user,
        server_name=server,
        image="base",
        slice_name=slice_name,
        # Two GPUs: the script is about charges, so where the placement puts each slice
        # (and whether a 2g.20gb still fits beside a 1g.10gb and a 3g.40gb) stays out of it.
        inventory=simulated_inventory(2),
        epoch=epoch,
        team="alpha",
    )
    assert not hasattr(record, "code"), record
    return record


def test_scripted_spawns_and_stops_across_a_restart(ledger_url: str) -> None:
    """Exact charges for a script of starts and stops of different slices, with the hub
    (and its ledger connection) restarted in the middle of two running servers."""
    clock = FakeClock(MARCH_10)
    ledger = Ledger(ledger_url, clock=clock)
    a = reserve(ledger, "alice", "1g.10gb", "epoch-1")
    clock.advance(10)
    ledger.activate(a.id)  # alice runs from t=10
    b = reserve(ledger, "bob", "3g.40gb", "epoch-1")
    clock.advance(10)
    ledger.activate(b.id)  # bob runs from t=20
    failed = reserve(ledger, "dora", "2g.20gb", "epoch-1")
    clock.advance(5)
    ledger.release(failed.id, "failed to start")  # never answered: costs nothing
    c = reserve(ledger, "carol", "2g.20gb", "epoch-1")
    clock.advance(5)
    ledger.activate(c.id)  # carol runs from t=30
    clock.now = MARCH_10 + HOUR
    ledger.release(a.id, "server stopped")  # alice: 3590 s of 1/7

    # The hub restarts: a new process, a new epoch. bob's server survived; carol's did not.
    ledger.dispose()
    clock.now = MARCH_10 + 2 * HOUR
    ledger = Ledger(ledger_url, clock=clock)
    report = ledger.reconcile("epoch-2", lambda r: r.user == "bob")
    assert report.kept == [b.id]  # carol is released at the restart, t = 2 h

    clock.now = MARCH_10 + 3 * HOUR
    d = reserve(ledger, "alice", "2g.20gb", "epoch-2", server="big")
    ledger.release(d.id, "cancelled before it answered")  # reserved only: free
    e = reserve(ledger, "alice", "1g.20gb", "epoch-2", server="big")
    clock.advance(20)
    ledger.activate(e.id)  # alice again from 3 h 20 s
    clock.now = MARCH_10 + 4 * HOUR
    ledger.release(b.id, "server stopped")  # bob: 4 h - 20 s of 1/2
    now = clock.advance(600)  # alice's 1g.20gb still runs: charged up to now

    records = ledger.overlapping(MARCH_10, now)
    by_user = totals(usage_rows(records, MARCH_10, now), "user")
    expected = {
        "alice": 3590 / HOUR / 7 + (HOUR - 20 + 600) / HOUR / 4,
        "bob": (4 * HOUR - 20) / HOUR / 2,
        "carol": (2 * HOUR - 30) / HOUR * 2 / 7,
    }
    assert by_user == {u: round(v, 6) for u, v in expected.items()}
    assert "dora" not in by_user
    # The same figures read back by yet another process (a second ledger object).
    other = Ledger(ledger_url, clock=clock)
    again = totals(usage_rows(other.overlapping(MARCH_10, now), MARCH_10, now), "user")
    assert again == by_user
    other.dispose()
    ledger.dispose()


def test_charge_of_a_record_is_exactly_weight_times_hours() -> None:
    r = Rec(slice_name="2g.20gb", weight=2 / 7, activated_at=0, released_at=7 * HOUR)
    assert gpu_hours(r, 0, 10 * HOUR) == pytest.approx(2.0)
