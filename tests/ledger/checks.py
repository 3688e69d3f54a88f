"""Consistency of a ledger database, checked from its rows (not from the allocator)."""

from __future__ import annotations

from collections import Counter, defaultdict

from spawners.core.model import Inventory
from spawners.ledger.ledger import Ledger
from tests.core.facts import COMPUTE_SLICES, MEMORY_SLOTS, MIG_TABLE, slots_of


def assert_consistent(ledger: Ledger, inventory: Inventory) -> None:
    """Claims are exactly the live allocations' slots; no slot twice; no GPU over-committed."""
    live = ledger.live()
    claims = ledger.claimed_slots()
    assert len({(g, s) for g, s, _ in claims}) == len(claims), "a slot is claimed twice"
    expected = {(r.gpu_uuid, s, r.id) for r in live if r.gpu_uuid for s in r.slots}
    assert set(claims) == expected, "claims do not match the live allocations"
    known = {g.uuid for g in inventory.gpus}
    per_gpu = defaultdict(list)
    for r in live:
        if r.gpu_uuid is None:
            assert r.slice_name == "cpu" and not r.slots
            continue
        assert r.gpu_uuid in known
        per_gpu[r.gpu_uuid].append(r)
    for gpu_uuid, records in per_gpu.items():
        taken = Counter(s for r in records for s in r.slots)
        assert all(n == 1 for n in taken.values()), f"overlap on {gpu_uuid}"
        assert set(taken) <= set(range(MEMORY_SLOTS))
        mig = [r for r in records if r.slice_name in MIG_TABLE]
        assert sum(MIG_TABLE[r.slice_name].compute for r in mig) <= COMPUTE_SLICES
        for r in mig:
            assert r.start in MIG_TABLE[r.slice_name].valid_starts
            assert r.slots == slots_of(r.slice_name, r.start)
