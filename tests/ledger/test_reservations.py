"""Lab-session reservations in the ledger, on SQLite and PostgreSQL: made only when the
window can hold them beside the others (one at a time, however many writers), kept from
outsiders from the window's start, taken by the course's members (also from the queue),
returned to everyone after the grace period or a cancel, and free of charge until a
member's server holds a slice."""

from __future__ import annotations

import threading

from spawners.core.model import Inventory, Refusal
from spawners.core.reservations import Infeasible
from spawners.core.usage import usage_rows
from spawners.ledger.ledger import Ledger, QueueStatus
from spawners.ledger.records import AllocationRecord
from spawners.ledger.reservation_book import Reservations
from spawners.ledger.reservations import ReservationRecord

from .checks import assert_consistent
from .conftest import FakeClock

H = 3600.0
GRACE = 600.0


def make(ledger: Ledger, inventory: Inventory, count: int = 4, **kw) -> ReservationRecord:
    start = kw.pop("start", ledger.clock() + H)
    return Reservations(ledger).make(
        course=kw.pop("course", "ml101"),
        slice_name=kw.pop("slice_name", "1g.10gb"),
        count=count,
        starts_at=start,
        ends_at=kw.pop("end", start + 2 * H),
        grace_s=kw.pop("grace", GRACE),
        actor=kw.pop("actor", "prof"),
        inventory=inventory,
    )


def spawn(ledger: Ledger, inventory: Inventory, user: str, team: str | None, **kw):
    return ledger.reserve(
        user=user,
        server_name=kw.pop("server_name", ""),
        image="base",
        slice_name=kw.pop("slice_name", "1g.10gb"),
        inventory=inventory,
        epoch="e1",
        team=team,
    )


def test_made_listed_audited_and_refused_when_the_window_is_full(
    ledger: Ledger, one_gpu: Inventory, clock: FakeClock
) -> None:
    first = make(ledger, one_gpu, 5)
    assert isinstance(first, ReservationRecord) and first.claimed == 0
    later = make(ledger, one_gpu, 4, course="cs2", start=first.starts_at + H)
    assert isinstance(later, Infeasible) and later.most == 2
    assert "at most 2 x 1g.10gb" in later.message
    ok = make(ledger, one_gpu, 2, course="cs2", start=first.starts_at + H)
    assert isinstance(ok, ReservationRecord)
    listed = Reservations(ledger).upcoming(clock())
    assert [(r.course, r.count) for r in listed] == [("ml101", 5), ("cs2", 2)]
    assert [r.course for r in Reservations(ledger).upcoming(clock(), "cs2")] == ["cs2"]
    actions = [e["action"] for e in ledger.audit_log()]
    assert actions.count("reservation-make") == 2


def test_outsiders_place_around_members_take_and_the_grace_returns_the_rest(
    ledger: Ledger, one_gpu: Inventory, clock: FakeClock
) -> None:
    r = make(ledger, one_gpu, 4)
    # Before the window everyone may take everything.
    early = spawn(ledger, one_gpu, "early", "alpha")
    assert isinstance(early, AllocationRecord)
    clock.now = r.starts_at
    got = [spawn(ledger, one_gpu, f"out{i}", "alpha") for i in range(3)]
    # 7 slots: 1 ran before the window (kept running), 4 kept, so 2 outsiders fit.
    assert [isinstance(g, AllocationRecord) for g in got] == [True, True, False]
    assert isinstance(got[2], Refusal)
    assert got[2].free_now["1g.10gb"] == 0
    members = [spawn(ledger, one_gpu, f"student{i}", "ml101") for i in range(4)]
    assert all(isinstance(m, AllocationRecord) for m in members)
    assert Reservations(ledger).get(r.id).claimed == 4
    assert_consistent(ledger, one_gpu)
    assert [e["action"] for e in ledger.audit_log()].count("reservation-claim") == 4
    # A student stops in the grace period: the slice is kept for the course again.
    ledger.release(members[0].id, "stopped")
    assert isinstance(spawn(ledger, one_gpu, "late", "alpha"), Refusal)
    # After the grace it is everyone's.
    clock.now = r.starts_at + GRACE
    assert isinstance(spawn(ledger, one_gpu, "late", "alpha"), AllocationRecord)
    assert_consistent(ledger, one_gpu)


def test_unclaimed_slices_return_after_the_grace(
    ledger: Ledger, one_gpu: Inventory, clock: FakeClock
) -> None:
    r = make(ledger, one_gpu, 4)
    clock.now = r.starts_at + 1
    outs = [spawn(ledger, one_gpu, f"out{i}", None) for i in range(7)]
    assert sum(isinstance(o, AllocationRecord) for o in outs) == 3
    clock.now = r.starts_at + GRACE
    more = [spawn(ledger, one_gpu, f"more{i}", None) for i in range(5)]
    assert sum(isinstance(o, AllocationRecord) for o in more) == 4


def test_a_cancelled_reservation_keeps_nothing(
    ledger: Ledger, one_gpu: Inventory, clock: FakeClock
) -> None:
    r = make(ledger, one_gpu, 7)
    clock.now = r.starts_at
    assert isinstance(spawn(ledger, one_gpu, "out", "alpha"), Refusal)
    reservations = Reservations(ledger)
    assert reservations.cancel(r.id, "prof") and not reservations.cancel(r.id, "prof")
    assert reservations.get(r.id) is None
    assert isinstance(spawn(ledger, one_gpu, "out", "alpha"), AllocationRecord)
    assert "reservation-cancel" in [e["action"] for e in ledger.audit_log()]


def test_a_queued_member_takes_a_kept_slice_and_a_queued_outsider_waits(
    ledger: Ledger, one_gpu: Inventory, clock: FakeClock
) -> None:
    r = make(ledger, one_gpu, 1)
    held = [spawn(ledger, one_gpu, f"h{i}", "alpha") for i in range(7)]
    assert all(isinstance(h, AllocationRecord) for h in held)
    out = ledger.enqueue(
        user="out",
        server_name="",
        image="base",
        slice_name="1g.10gb",
        epoch="e1",
        expire_after=10 * H,
        team="alpha",
    )
    member = ledger.enqueue(
        user="student",
        server_name="",
        image="base",
        slice_name="1g.10gb",
        epoch="e1",
        expire_after=10 * H,
        team="ml101",
    )
    clock.now = r.starts_at
    ledger.release(held[0].id, "stopped")
    # The freed slot is kept for the course: the outsider, first in line, waits.
    assert isinstance(ledger.start_queued(out.id, inventory=one_gpu, epoch="e1"), QueueStatus)
    got = ledger.start_queued(member.id, inventory=one_gpu, epoch="e1")
    assert isinstance(got, AllocationRecord) and got.user == "student"
    assert Reservations(ledger).get(r.id).claimed == 1
    assert_consistent(ledger, one_gpu)


def test_a_reservation_costs_nothing_until_a_member_holds_a_slice(
    ledger: Ledger, one_gpu: Inventory, clock: FakeClock
) -> None:
    r = make(ledger, one_gpu, 4)
    clock.now = r.starts_at + 2 * H
    assert ledger.overlapping(0, clock()) == []  # nothing was ever allocated: no charge
    clock.now = r.starts_at
    student = spawn(ledger, one_gpu, "student", "ml101")
    ledger.activate(student.id)
    clock.advance(H)
    ledger.release(student.id, "stopped")
    rows = usage_rows(ledger.overlapping(0, clock()), 0, clock())
    assert [(row.team, round(row.gpu_hours, 6)) for row in rows] == [("ml101", round(1 / 7, 6))]


def test_reservations_made_at_once_never_overcommit_a_window(
    ledger_url: str, one_gpu: Inventory
) -> None:
    results: list[object] = []
    barrier = threading.Barrier(4)

    def attempt(i: int) -> None:
        ledger = Ledger(ledger_url)
        try:
            barrier.wait()
            results.append(
                Reservations(ledger).make(
                    course=f"c{i}",
                    slice_name="1g.10gb",
                    count=3,
                    starts_at=10 * H,
                    ends_at=12 * H,
                    grace_s=GRACE,
                    actor="prof",
                    inventory=one_gpu,
                )
            )
        finally:
            ledger.dispose()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = [r for r in results if isinstance(r, ReservationRecord)]
    assert len(made) == 2 and len(results) == 4  # 3 + 3 of 7; a third would be 9


def test_an_outsider_that_would_leave_a_reservation_short_is_refused(
    ledger: Ledger, one_gpu: Inventory, clock: FakeClock
) -> None:
    start = clock() + H
    for course, count, slice_name in (
        ("c0", 1, "1g.10gb"),
        ("c1", 3, "1g.10gb"),
        ("c2", 1, "1g.20gb"),
    ):
        assert isinstance(
            make(ledger, one_gpu, count, course=course, slice_name=slice_name, start=start),
            ReservationRecord,
        )
    clock.now = start
    refused = spawn(ledger, one_gpu, "out", "alpha", slice_name="1g.20gb")
    assert isinstance(refused, Refusal) and refused.slice_name == "1g.20gb"
    assert isinstance(spawn(ledger, one_gpu, "out", "alpha"), AllocationRecord)
    members = [("c0", "1g.10gb")] + [("c1", "1g.10gb")] * 3 + [("c2", "1g.20gb")]
    for i, (course, slice_name) in enumerate(members):
        got = spawn(ledger, one_gpu, f"m{i}", course, slice_name=slice_name)
        assert isinstance(got, AllocationRecord), got
    assert_consistent(ledger, one_gpu)
