"""Allocation records for view tests, placed by the real allocator."""

from __future__ import annotations

from spawners.core.allocator import allocate
from spawners.core.model import Inventory, Placement
from spawners.ledger.records import AllocationRecord


def record(
    n: int, user: str, slice_name: str, gpu_uuid: str | None, start: int | None, **kw
) -> AllocationRecord:
    from spawners.core.profiles import slice_profile

    size = slice_profile(slice_name).memory_slots
    slots = frozenset(range(start, start + size)) if start is not None else frozenset()
    fields = dict(
        id=n,
        user=user,
        server_name="",
        team=None,
        image="base",
        slice_name=slice_name,
        weight=0.0,
        gpu_uuid=gpu_uuid,
        gpu_index=0 if gpu_uuid else None,
        node="localhost",
        start=start,
        slots=slots,
        device_uuid=None,
        simulated=True,
        state="active",
        epoch="e",
        engine="local",
        engine_ref=None,
        created_at=100.0 + n,
        activated_at=200.0 + n,
        released_at=None,
        release_reason=None,
    )
    fields.update(kw)
    return AllocationRecord(**fields)


def placed(inventory: Inventory, live: list[AllocationRecord], n: int, user: str, slice_name: str):
    """A record where the allocator would put the next ``slice_name``."""
    decision = allocate(inventory, [h for r in live if (h := r.holding())], slice_name)
    assert isinstance(decision, Placement), decision
    return record(n, user, slice_name, decision.gpu_uuid, decision.start)
