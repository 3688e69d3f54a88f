"""The admin page's data: every GPU as its memory slots with who holds each, free
capacity per profile, the servers without a GPU, and the fragmentation view. Pure."""

from __future__ import annotations

from typing import Any

from spawners.core.allocator import free_counts
from spawners.core.model import Inventory
from spawners.core.profiles import MEMORY_SLOTS
from spawners.ledger.records import AllocationRecord

from .fragmentation import fragmentation_view
from .views import families_view, gpu_header


def holder(record: AllocationRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "user": record.user,
        "server_name": record.server_name,
        "team": record.team,
        "image": record.image,
        "slice": record.slice_name,
        "state": record.state,
        # Quarantined: which processes still hold the stopped server's device.
        "reason": record.release_reason if record.state == "quarantined" else None,
        "since": record.activated_at or record.created_at,
        "start": record.start,
        "device_uuid": record.device_uuid,
    }


def overview_view(inventory: Inventory, live: list[AllocationRecord]) -> dict[str, Any]:
    holdings = [h for r in live if (h := r.holding()) is not None]
    gpus = []
    for gpu in inventory.gpus:
        mine = [r for r in live if r.gpu_uuid == gpu.uuid]
        by_slot = {slot: r for r in mine for slot in r.slots}
        per_gpu = Inventory(gpus=(gpu,), strategy=inventory.strategy, simulated=inventory.simulated)
        gpus.append(
            {
                **gpu_header(gpu),
                "slots": [
                    {"slot": s, "holder": holder(by_slot[s]) if s in by_slot else None}
                    for s in range(MEMORY_SLOTS)
                ],
                "allocations": [
                    holder(r) for r in sorted(mine, key=lambda r: min(r.slots, default=0))
                ],
                "free": free_counts(per_gpu, [h for h in holdings if h.gpu_uuid == gpu.uuid]),
            }
        )
    return {
        "simulated": inventory.simulated,
        "source": inventory.source,
        "strategy": inventory.strategy.value,
        "gpus": gpus,
        "free": free_counts(inventory, holdings),
        "families": families_view(inventory),
        "without_gpu": [holder(r) for r in live if r.gpu_uuid is None],
        "fragmentation": fragmentation_view(inventory, live),
    }
