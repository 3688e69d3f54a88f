"""The ledger contract, run on SQLite and on PostgreSQL (see conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from spawners.core.allocator import PlacementStrategy
from spawners.core.model import Inventory, Refusal, RefusalCode
from spawners.ledger.ledger import Ledger, LedgerError, ServerAlreadyHolds
from spawners.ledger.records import AllocationRecord
from spawners.ledger.schema import ACTIVE, RELEASED, RESERVED, AllocationRow, SlotClaimRow

from .checks import assert_consistent
from .conftest import FakeClock


def reserve(
    ledger: Ledger,
    inventory: Inventory,
    slice_name: str = "1g.10gb",
    user: str = "alice",
    server_name: str = "",
    epoch: str = "epoch-1",
    **kw,
) -> AllocationRecord:
    got = ledger.reserve(
        user=user,
        server_name=server_name,
        image="speech",
        slice_name=slice_name,
        inventory=inventory,
        epoch=epoch,
        **kw,
    )
    assert isinstance(got, AllocationRecord), getattr(got, "message", got)
    return got


def refused(ledger: Ledger, inventory: Inventory, slice_name: str, user: str = "zed") -> Refusal:
    got = ledger.reserve(
        user=user,
        server_name="",
        image="base",
        slice_name=slice_name,
        inventory=inventory,
        epoch="epoch-1",
    )
    assert isinstance(got, Refusal), got
    return got


# --- lifecycle ---------------------------------------------------------------------------


def test_reserve_activate_release_lifecycle(
    ledger: Ledger, one_gpu: Inventory, clock: FakeClock
) -> None:
    rec = reserve(ledger, one_gpu, "2g.20gb", team="course-a")
    assert rec.state == RESERVED
    assert (rec.user, rec.server_name, rec.image, rec.slice_name, rec.team) == (
        "alice",
        "",
        "speech",
        "2g.20gb",
        "course-a",
    )
    assert rec.gpu_uuid == one_gpu.gpus[0].uuid and rec.gpu_index == 0
    assert rec.start in (0, 2, 4) and rec.slots == frozenset({rec.start, rec.start + 1})
    assert rec.device_uuid and rec.device_uuid.startswith("MIG-")  # simulated inventory
    assert rec.simulated is True
    assert rec.epoch == "epoch-1"
    assert rec.created_at == clock.now and rec.activated_at is None
    assert rec.weight == pytest.approx(2 / 7)
    assert sorted(ledger.claimed_slots()) == [(rec.gpu_uuid, s, rec.id) for s in sorted(rec.slots)]
    assert ledger.live() == [rec]
    assert ledger.live_for("alice", "") == rec
    assert ledger.get(rec.id) == rec

    activated_at = clock.advance(5)
    act = ledger.activate(rec.id, engine_ref="pid:4242")
    assert act.state == ACTIVE and act.activated_at == activated_at
    assert act.engine_ref == "pid:4242"
    assert ledger.get(rec.id).state == ACTIVE
    assert ledger.holdings()[0].slots == rec.slots

    released_at = clock.advance(60)
    assert ledger.release(rec.id, "server stopped") is True
    gone = ledger.get(rec.id)
    assert gone.state == RELEASED
    assert gone.released_at == released_at
    assert gone.release_reason == "server stopped"
    assert ledger.claimed_slots() == []
    assert ledger.live() == [] and ledger.holdings() == []
    assert ledger.live_for("alice", "") is None
    assert ledger.last_for("alice", "") == gone


def test_release_is_idempotent(ledger: Ledger, one_gpu: Inventory, clock: FakeClock) -> None:
    rec = reserve(ledger, one_gpu)
    assert ledger.release(rec.id, "first") is True
    first = ledger.get(rec.id)
    clock.advance(10)
    assert ledger.release(rec.id, "second") is False
    assert ledger.get(rec.id) == first
    assert ledger.release(987654, "never existed") is False
    releases = [e for e in ledger.audit_log() if e["action"] == "release"]
    assert len(releases) == 1


def test_activate_is_idempotent_and_refuses_what_is_not_live(
    ledger: Ledger, one_gpu: Inventory, clock: FakeClock
) -> None:
    rec = reserve(ledger, one_gpu)
    first = ledger.activate(rec.id)
    clock.advance(30)
    again = ledger.activate(rec.id, device_uuid="MIG-real-one")
    assert again.activated_at == first.activated_at
    assert again.device_uuid == "MIG-real-one"
    ledger.release(rec.id, "done")
    with pytest.raises(LedgerError):
        ledger.activate(rec.id)
    with pytest.raises(LedgerError):
        ledger.activate(987654)


def test_record_engine_remembers_what_the_engine_said(ledger: Ledger, one_gpu: Inventory) -> None:
    rec = reserve(ledger, one_gpu)
    ledger.record_engine(rec.id, engine_ref="job 17")
    ledger.record_engine(rec.id)  # nothing to say: nothing changes
    ledger.record_engine(rec.id, device_uuid="MIG-from-engine")
    got = ledger.get(rec.id)
    assert (got.engine_ref, got.device_uuid, got.state) == ("job 17", "MIG-from-engine", RESERVED)


def test_released_slots_can_be_claimed_again(ledger: Ledger, one_gpu: Inventory) -> None:
    whole = reserve(ledger, one_gpu, "7g.80gb")
    assert len(ledger.claimed_slots()) == 8
    refused(ledger, one_gpu, "1g.10gb")
    ledger.release(whole.id, "stopped")
    again = reserve(ledger, one_gpu, "7g.80gb", user="bob")
    assert again.slots == whole.slots and again.id != whole.id
    assert {c[2] for c in ledger.claimed_slots()} == {again.id}


def test_cpu_reservations_hold_no_slots(ledger: Ledger, one_gpu: Inventory) -> None:
    rec = reserve(ledger, one_gpu, "cpu")
    assert rec.gpu_uuid is None and rec.slots == frozenset() and rec.weight == 0
    assert ledger.claimed_slots() == [] and ledger.holdings() == []
    assert ledger.live() == [rec]
    # A cpu server still counts as the server's one live allocation.
    with pytest.raises(ServerAlreadyHolds):
        reserve(ledger, one_gpu, "1g.10gb")


def test_the_ledger_outlives_its_process(ledger_url: str, one_gpu: Inventory) -> None:
    first = Ledger(ledger_url)
    rec = reserve(first, one_gpu, "3g.40gb")
    first.dispose()
    second = Ledger(ledger_url)
    try:
        second.create_schema()  # idempotent on an existing database
        assert second.live() == [rec]
        nxt = reserve(second, one_gpu, "3g.40gb", user="bob")
        assert nxt.slots.isdisjoint(rec.slots)
    finally:
        second.dispose()


# --- placement through the ledger -----------------------------------------------------------


def test_reserve_places_fragmentation_aware_by_default(ledger: Ledger, one_gpu: Inventory) -> None:
    # Fragmentation-aware on an empty ledger (the prior mix): slot 4 keeps room for the
    # 4g.40gb (or a 3g.40gb), two 2g.20gb and the 1g.20gb at 6, slot 7's only use left.
    assert reserve(ledger, one_gpu, "1g.10gb").start == 4
    first_fit = reserve(
        ledger, one_gpu, "1g.10gb", user="bob", strategy=PlacementStrategy.FIRST_FIT
    )
    assert first_fit.start == 0


def test_reservations_fill_two_gpus_exactly(ledger: Ledger, two_gpus: Inventory) -> None:
    granted = [reserve(ledger, two_gpus, "1g.10gb", user=f"u{i}") for i in range(14)]
    assert len({(r.gpu_uuid, s) for r in granted for s in r.slots}) == 14
    refusal = refused(ledger, two_gpus, "1g.10gb")
    assert refusal.code is RefusalCode.NO_CAPACITY
    assert_consistent(ledger, two_gpus)


# --- one live allocation per server -------------------------------------------------------


def test_one_live_allocation_per_server(ledger: Ledger, two_gpus: Inventory) -> None:
    rec = reserve(ledger, two_gpus, "1g.10gb", server_name="gpu-lab")
    with pytest.raises(ServerAlreadyHolds) as info:
        reserve(ledger, two_gpus, "2g.20gb", server_name="gpu-lab")
    assert info.value.record == rec
    assert "alice/gpu-lab" in str(info.value)
    # The refused attempt claimed nothing.
    assert {c[2] for c in ledger.claimed_slots()} == {rec.id}
    # Other servers of the same user, and the same server name of another user, are fine.
    reserve(ledger, two_gpus, "1g.10gb", server_name="")
    reserve(ledger, two_gpus, "1g.10gb", user="bob", server_name="gpu-lab")
    # After release the server may hold a slice again.
    ledger.release(rec.id, "stopped")
    reserve(ledger, two_gpus, "2g.20gb", server_name="gpu-lab")
    assert_consistent(ledger, two_gpus)


def _row(**kw) -> AllocationRow:
    values = dict(
        user="alice",
        server_name="",
        image="base",
        slice_name="cpu",
        weight=0.0,
        slots="",
        simulated=0,
        state=ACTIVE,
        epoch="e",
        engine="local",
        created_at=1.0,
    )
    values.update(kw)
    return AllocationRow(**values)


def test_the_database_itself_refuses_a_second_live_allocation_per_server(ledger: Ledger) -> None:
    with Session(ledger.engine) as s, s.begin():
        s.add(_row(state=RELEASED))
        s.add(_row(state=RELEASED))  # any number of released ones
        s.add(_row(state=ACTIVE))
    with pytest.raises(IntegrityError), Session(ledger.engine) as s, s.begin():
        s.add(_row(state=RESERVED))
    assert len(ledger.live()) == 1


def test_the_database_itself_refuses_a_slot_claimed_twice(ledger: Ledger) -> None:
    with Session(ledger.engine) as s, s.begin():
        a, b = _row(user="a"), _row(user="b")
        s.add_all([a, b])
        s.flush()
        s.add(SlotClaimRow(gpu_uuid="GPU-x", slot=3, allocation_id=a.id))
        ids = (a.id, b.id)
    with pytest.raises(IntegrityError), Session(ledger.engine) as s, s.begin():
        s.add(SlotClaimRow(gpu_uuid="GPU-x", slot=3, allocation_id=ids[1]))
    assert ledger.claimed_slots() == [("GPU-x", 3, ids[0])]


# --- refusals ---------------------------------------------------------------------------------


def test_refusal_when_full_writes_nothing(ledger: Ledger, one_gpu: Inventory) -> None:
    reserve(ledger, one_gpu, "7g.80gb")
    log_before = ledger.audit_log()
    refusal = refused(ledger, one_gpu, "1g.10gb")
    assert refusal.code is RefusalCode.NO_CAPACITY
    assert refusal.message == "No 1g.10gb slice is free right now. Free now: nothing."
    assert len(ledger.live()) == 1 and len(ledger.claimed_slots()) == 8
    assert ledger.audit_log() == log_before
    assert ledger.live_for("zed", "") is None


def test_refusal_says_what_is_free(ledger: Ledger, one_gpu: Inventory) -> None:
    reserve(ledger, one_gpu, "4g.40gb")
    refusal = refused(ledger, one_gpu, "7g.80gb")
    assert "1 x 3g.40gb" in refusal.message and "3 x 1g.10gb" in refusal.message
    assert refused(ledger, one_gpu, "mps.10gb").code is RefusalCode.NOT_OFFERED
    assert refused(ledger, one_gpu, "9g.90gb").code is RefusalCode.NO_SUCH_SLICE


# --- reconcile ---------------------------------------------------------------------------------


def test_reconcile_releases_dead_spawns_and_gone_servers_and_keeps_the_unknown(
    ledger: Ledger, two_gpus: Inventory
) -> None:
    old_pending = reserve(ledger, two_gpus, user="old-pending", epoch="epoch-1")
    new_pending = reserve(ledger, two_gpus, user="new-pending", epoch="epoch-2")
    running = ledger.activate(reserve(ledger, two_gpus, user="running").id)
    gone = ledger.activate(reserve(ledger, two_gpus, user="gone").id)
    unknown = ledger.activate(reserve(ledger, two_gpus, user="unknown").id)
    released = reserve(ledger, two_gpus, user="released")
    ledger.release(released.id, "stopped earlier")

    probe_answers = {"running": True, "gone": False, "unknown": None}
    probed: list[str] = []
    abandoned: list[int] = []

    def is_running(record: AllocationRecord) -> bool | None:
        probed.append(record.user)
        return probe_answers[record.user]

    report = ledger.reconcile("epoch-2", is_running, abandon=lambda r: abandoned.append(r.id))

    assert sorted(report.released) == sorted(
        [(old_pending.id, "pending spawn of an earlier hub"), (gone.id, "server gone")]
    )
    assert sorted(report.kept) == sorted([new_pending.id, running.id, unknown.id])
    assert abandoned == [old_pending.id]
    assert sorted(probed) == ["gone", "running", "unknown"]
    assert ledger.get(old_pending.id).state == RELEASED
    assert ledger.get(gone.id).state == RELEASED
    assert ledger.get(unknown.id).state == ACTIVE
    assert ledger.get(new_pending.id).state == RESERVED
    assert ledger.get(released.id).release_reason == "stopped earlier"
    assert {c[2] for c in ledger.claimed_slots()} == {new_pending.id, running.id, unknown.id}
    actors = {e["actor"] for e in ledger.audit_log() if e["action"] == "release"}
    assert "reconcile" in actors
    assert_consistent(ledger, two_gpus)

    # Reconciling again with the same answers changes nothing.
    again = ledger.reconcile("epoch-2", is_running)
    assert again.released == [] and sorted(again.kept) == sorted(report.kept)


# --- history ----------------------------------------------------------------------------------


def test_overlapping_finds_what_held_a_slice_in_a_window(
    ledger: Ledger, two_gpus: Inventory, clock: FakeClock
) -> None:
    clock.now = 100.0
    a = reserve(ledger, two_gpus, user="a")
    clock.now = 200.0
    ledger.release(a.id, "stopped")
    clock.now = 300.0
    b = reserve(ledger, two_gpus, user="b")

    def ids(since: float, until: float) -> list[int]:
        return [r.id for r in ledger.overlapping(since, until)]

    assert ids(0, 100) == []  # [since, until): a starts at 100
    assert ids(0, 100.5) == [a.id]
    assert ids(150, 160) == [a.id]
    assert ids(200, 250) == []  # a was released at 200
    assert ids(199, 250) == [a.id]
    assert ids(250, 400) == [b.id]
    assert ids(10_000, 20_000) == [b.id]  # still live
    assert ids(0, 1_000) == [a.id, b.id]


def test_the_audit_log_records_reserve_activate_and_release(
    ledger: Ledger, one_gpu: Inventory, clock: FakeClock
) -> None:
    rec = reserve(ledger, one_gpu, "3g.40gb", user="carol", server_name="lab")
    clock.advance(1)
    ledger.activate(rec.id)
    clock.advance(1)
    ledger.release(rec.id, "idle culler", actor="culler")
    ledger.audit("admin", "set-quota", "team/course-a", "10 GPU-hours")
    log = ledger.audit_log()
    assert [e["action"] for e in log] == ["set-quota", "release", "activate", "reserve"]
    set_quota, release, activate, reserve_entry = log
    assert reserve_entry["actor"] == "carol" and reserve_entry["subject"] == "carol/lab"
    assert "3g.40gb" in reserve_entry["detail"] and "GPU 0" in reserve_entry["detail"]
    assert activate["subject"] == "carol/lab"
    assert release["actor"] == "culler" and release["subject"] == "carol/lab"
    assert "idle culler" in release["detail"]
    assert release["at"] == clock.now
    assert set_quota == {
        "at": clock.now,
        "actor": "admin",
        "action": "set-quota",
        "subject": "team/course-a",
        "detail": "10 GPU-hours",
    }
    assert len(ledger.audit_log(limit=2)) == 2
