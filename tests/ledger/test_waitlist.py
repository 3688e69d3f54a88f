"""The ledger's waitlist, on SQLite and PostgreSQL: arrival order kept across ledger
processes, fair order at the start, one start per entry however many hubs try, limits
checked again at the start, expiry and leaving as the end of a wait."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from spawners.core.model import Inventory
from spawners.core.policy import Admission, LimitRefusal
from spawners.ledger.ledger import Ledger, QueueStatus
from spawners.ledger.records import AllocationRecord
from spawners.ledger.schema import (
    EXPIRED,
    LEFT,
    REFUSED,
    STARTED,
    WAITING,
    QueueRow,
)

from .checks import assert_consistent
from .conftest import FakeClock


def fill(ledger: Ledger, inventory: Inventory, team: str = "holders") -> list[AllocationRecord]:
    """Every 1g.10gb of the inventory, held by ``team``."""
    out = []
    while True:
        got = ledger.reserve(
            user=f"holder{len(out)}",
            server_name="",
            image="base",
            slice_name="1g.10gb",
            inventory=inventory,
            epoch="e1",
            team=team,
        )
        if not isinstance(got, AllocationRecord):
            return out
        out.append(got)


def enqueue(ledger: Ledger, user: str, team: str | None, server_name: str = "", **kw):
    return ledger.enqueue(
        user=user,
        server_name=server_name,
        image="base",
        slice_name=kw.pop("slice_name", "1g.10gb"),
        epoch=kw.pop("epoch", "e1"),
        expire_after=kw.pop("expire_after", 600),
        team=team,
    )


def start(ledger: Ledger, entry_id: int, inventory: Inventory, **kw):
    return ledger.start_queued(entry_id, inventory=inventory, epoch="e1", **kw)


def test_entries_wait_in_arrival_order_and_outlive_the_ledger_process(
    ledger_url: str, one_gpu: Inventory, clock: FakeClock
) -> None:
    first = Ledger(ledger_url, clock=clock)
    fill(first, one_gpu)
    a = enqueue(first, "a", "t")
    clock.advance(1)
    b = enqueue(first, "b", "t")
    assert a.state == WAITING and a.id < b.id
    assert a.expires_at == a.enqueued_at + 600
    first.dispose()
    again = Ledger(ledger_url, clock=clock)
    try:
        assert [e.user for e in again.queue()] == ["a", "b"]
        # The restarted hub's start of the same server takes the entry over: same place.
        clock.advance(30)
        taken = enqueue(again, "a", "t", epoch="e2")
        assert (taken.id, taken.enqueued_at, taken.expires_at) == (
            a.id,
            a.enqueued_at,
            a.expires_at,
        )
        assert taken.epoch == "e2"
        assert [e.user for e in again.queue()] == ["a", "b"]
    finally:
        again.dispose()


def test_the_database_itself_keeps_one_waiting_entry_per_server(ledger: Ledger) -> None:
    enqueue(ledger, "a", None)
    with Session(ledger.engine) as s, pytest.raises(IntegrityError):
        s.add(
            QueueRow(
                user="a",
                server_name="",
                image="base",
                slice_name="1g.10gb",
                state=WAITING,
                epoch="x",
                enqueued_at=0.0,
                expires_at=1.0,
            )
        )
        s.commit()


def test_a_queued_start_waits_while_full_and_starts_when_a_slice_frees(
    ledger: Ledger, one_gpu: Inventory
) -> None:
    held = fill(ledger, one_gpu)
    a = enqueue(ledger, "a", "t")
    b = enqueue(ledger, "b", "t")
    status = start(ledger, b.id, one_gpu)
    assert isinstance(status, QueueStatus)
    assert (status.position, status.total) == (2, 2)
    ledger.release(held[3].id, "server stopped")
    # b is second in line: a takes the freed slice first.
    assert isinstance(start(ledger, b.id, one_gpu), QueueStatus)
    got = start(ledger, a.id, one_gpu)
    assert isinstance(got, AllocationRecord)
    assert got.user == "a" and got.slots == held[3].slots and got.team == "t"
    assert ledger.queue_entry(a.id).state == STARTED
    assert ledger.queue_entry(a.id).allocation_id == got.id
    assert [e.user for e in ledger.queue()] == ["b"]
    assert start(ledger, b.id, one_gpu).position == 1
    assert_consistent(ledger, one_gpu)


def test_a_team_holding_more_waits_behind_a_team_holding_less(
    ledger: Ledger, one_gpu: Inventory
) -> None:
    held = fill(ledger, one_gpu, team="big")
    big = enqueue(ledger, "big-user", "big")
    small = enqueue(ledger, "small-user", "small")
    assert [e.user for e in ledger.queue_order()] == ["small-user", "big-user"]
    ledger.release(held[0].id, "server stopped")
    assert isinstance(start(ledger, big.id, one_gpu), QueueStatus)
    assert isinstance(start(ledger, small.id, one_gpu), AllocationRecord)


def test_two_hubs_never_start_the_same_entry(ledger_url: str, one_gpu: Inventory) -> None:
    hubs = [Ledger(ledger_url) for _ in range(4)]
    try:
        held = fill(hubs[0], one_gpu)
        entry = enqueue(hubs[0], "a", None)
        hubs[0].release(held[0].id, "server stopped")
        hubs[0].release(held[1].id, "server stopped")
        results: list = []
        barrier = threading.Barrier(len(hubs))

        def race(ledger: Ledger) -> None:
            barrier.wait()
            results.append(start(ledger, entry.id, one_gpu))

        threads = [threading.Thread(target=race, args=(h,)) for h in hubs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        started = [r for r in results if isinstance(r, AllocationRecord)]
        assert len(started) == 1, results
        assert all(r.entry is None for r in results if isinstance(r, QueueStatus))
        assert [r.user for r in hubs[0].live() if r.user == "a"] == ["a"]
        assert_consistent(hubs[0], one_gpu)
    finally:
        for h in hubs:
            h.dispose()


def test_limits_are_checked_again_at_the_start(ledger: Ledger, one_gpu: Inventory) -> None:
    held = fill(ledger, one_gpu)
    entry = enqueue(ledger, "a", None)
    # Meanwhile the user took a slice on another server: the cap of one is reached.
    ledger.release(held[0].id, "server stopped")
    ledger.reserve(
        user="a",
        server_name="other",
        image="base",
        slice_name="1g.10gb",
        inventory=one_gpu,
        epoch="e1",
    )
    ledger.release(held[1].id, "server stopped")
    cap = Admission(user="a", slice_name="1g.10gb", max_gpu_slices_per_user=1)
    got = start(ledger, entry.id, one_gpu, limits=cap)
    assert isinstance(got, LimitRefusal)
    assert ledger.queue_entry(entry.id).state == REFUSED
    assert ledger.queue() == []
    assert [r.user for r in ledger.live()].count("a") == 1
    assert_consistent(ledger, one_gpu)


def test_leaving_and_expiring_end_the_wait_once(ledger: Ledger, one_gpu: Inventory) -> None:
    fill(ledger, one_gpu)
    a = enqueue(ledger, "a", None)
    b = enqueue(ledger, "b", None)
    assert ledger.leave_queue(a.id, LEFT, "the user stopped the start") is True
    assert ledger.leave_queue(a.id, LEFT, "again") is False
    assert ledger.leave_queue(b.id, EXPIRED, "expired") is True
    assert ledger.queue() == []
    assert start(ledger, a.id, one_gpu).entry is None
    actions = [e["action"] for e in ledger.audit_log()]
    assert "queue-left" in actions and "queue-expired" in actions
    # A new start of the same server queues again, at the back.
    again = enqueue(ledger, "a", None)
    assert again.id > b.id


def test_session_lengths_are_the_ended_sessions(
    ledger: Ledger, one_gpu: Inventory, clock: FakeClock
) -> None:
    rec = fill(ledger, one_gpu)[0]
    ledger.activate(rec.id)
    clock.advance(90)
    ledger.release(rec.id, "server stopped")
    assert ledger.session_lengths() == [90.0]
