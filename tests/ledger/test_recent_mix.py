"""The ledger places against the mix of its own recent allocations."""

from __future__ import annotations

from sqlalchemy.orm import Session

from spawners.core.allocator import allocate
from spawners.core.demand import PRIOR_ONLY, RequestMix
from spawners.core.model import Holding, Inventory
from spawners.ledger.ledger import Ledger
from spawners.ledger.records import AllocationRecord, encode_slots
from spawners.ledger.schema import ACTIVE, RELEASED, AllocationRow, SlotClaimRow


def _reserve(ledger: Ledger, inventory: Inventory, slice_name: str, user: str) -> AllocationRecord:
    got = ledger.reserve(
        user=user, server_name="", image="base", slice_name=slice_name,
        inventory=inventory, epoch="e",
    )  # fmt: skip
    assert isinstance(got, AllocationRecord), got
    return got


def _history(ledger: Ledger, slice_name: str, n: int, holding: Holding | None = None) -> None:
    """``n`` past allocations of ``slice_name``, and one still live at ``holding``."""
    with Session(ledger.engine) as s, s.begin():
        if holding is not None:
            live = AllocationRow(
                user="holder", server_name="", image="base", slice_name=holding.slice_name,
                weight=0.0, gpu_uuid=holding.gpu_uuid, gpu_index=0, start=holding.start,
                slots=encode_slots(holding.slots), simulated=1, state=ACTIVE, epoch="e",
                engine="local", created_at=float(n),
            )  # fmt: skip
            s.add(live)
            s.flush()
            for slot in sorted(holding.slots):
                s.add(SlotClaimRow(gpu_uuid=holding.gpu_uuid, slot=slot, allocation_id=live.id))
        for i in range(n):
            s.add(AllocationRow(
                user=f"past{i}", server_name="", image="base", slice_name=slice_name,
                weight=0.0, slots="", simulated=1, state=RELEASED, epoch="old",
                engine="local", created_at=float(i), released_at=float(i) + 0.5,
            ))  # fmt: skip


def _at_0(inventory: Inventory) -> Holding:
    return Holding(inventory.gpus[0].uuid, "1g.20gb", frozenset({0, 1}), 0)


def test_a_site_of_2g20gb_users_gets_its_1g10gb_placed_for_them(
    ledger: Ledger, one_gpu: Inventory
) -> None:
    held = _at_0(one_gpu)
    _history(ledger, "2g.20gb", 400, held)
    got = _reserve(ledger, one_gpu, "1g.10gb", "b")
    mix = RequestMix.observed({"2g.20gb": 400, "1g.20gb": 1})
    assert got.start == allocate(one_gpu, [held], "1g.10gb", mix=mix).start == 6
    # The prior alone would have kept the 3g.40gb at 4 instead.
    assert allocate(one_gpu, [held], "1g.10gb", mix=PRIOR_ONLY).start == 2


def test_a_fresh_ledger_places_by_the_prior(ledger: Ledger, one_gpu: Inventory) -> None:
    held = _at_0(one_gpu)
    _history(ledger, "2g.20gb", 0, held)
    assert _reserve(ledger, one_gpu, "1g.10gb", "b").start == 2
