"""The waitlist's history as the capacity page's queue chart reads it: every entry that
waited at some time in a range, ended or still waiting, on SQLite and PostgreSQL."""

from __future__ import annotations

from spawners.ledger.ledger import Ledger
from spawners.ledger.schema import EXPIRED, LEFT

from .conftest import FakeClock

H = 3600.0


def queue(ledger: Ledger, user: str, slice_name: str = "1g.10gb"):
    return ledger.enqueue(
        user=user,
        server_name="",
        image="base",
        slice_name=slice_name,
        epoch="e1",
        expire_after=10 * H,
    )


def test_entries_that_waited_in_a_range_ended_or_not(ledger: Ledger, clock: FakeClock) -> None:
    t0 = clock()
    a = queue(ledger, "a")  # waits [t0, t0 + 2 h), then leaves
    clock.advance(H)
    b = queue(ledger, "b", "3g.40gb")  # waits from t0 + 1 h, still waiting
    clock.advance(H)
    assert ledger.leave_queue(a.id, LEFT, "left")
    clock.advance(H)
    c = queue(ledger, "c")  # waits [t0 + 3 h, t0 + 3.5 h), then expires
    clock.advance(0.5 * H)
    assert ledger.leave_queue(c.id, EXPIRED, "expired")

    def users(since: float, until: float) -> list[str]:
        return [e.user for e in ledger.queue_overlapping(t0 + since * H, t0 + until * H)]

    assert users(0, 0.5) == ["a"]
    assert users(0, 4) == ["a", "b", "c"]
    assert users(2, 3) == ["b"]  # a ended at 2 h, c came at 3 h
    assert users(3.5, 9) == ["b"]
    [entry] = ledger.queue_overlapping(t0 + 5 * H, t0 + 6 * H)
    assert (entry.id, entry.slice_name, entry.ended_at) == (b.id, "3g.40gb", None)
    assert ledger.queue_overlapping(t0 - 2 * H, t0) == []
