"""What the service shows, as plain data built from the inventory and the ledger."""

from __future__ import annotations

from typing import Any

from spawners.core.allocator import free_counts, gpu_states
from spawners.core.model import Gpu, Inventory
from spawners.core.profiles import MEMORY_SLOTS
from spawners.ledger.records import AllocationRecord


def gpu_header(gpu: Gpu) -> dict[str, Any]:
    """What every view says about a GPU itself."""
    return {
        "index": gpu.index,
        "uuid": gpu.uuid,
        "model": gpu.model,
        "node": gpu.node,
        "mode": gpu.mode.value,
        "memory_gb": gpu.memory_gb,
    }


def inventory_view(inventory: Inventory, live: list[AllocationRecord]) -> dict[str, Any]:
    holdings = [h for r in live if (h := r.holding()) is not None]
    states = gpu_states(inventory, holdings)
    gpus = []
    for gpu in inventory.gpus:
        mine = [h for h in holdings if h.gpu_uuid == gpu.uuid]
        per_gpu = Inventory(gpus=(gpu,), strategy=inventory.strategy, simulated=inventory.simulated)
        gpus.append(
            {
                **gpu_header(gpu),
                "slots": [
                    {"slot": s, "held": bool(states[gpu.uuid].occupied_mask & (1 << s))}
                    for s in range(MEMORY_SLOTS)
                ],
                "held_slices": sorted(h.slice_name for h in mine),
                "free": free_counts(per_gpu, mine),
            }
        )
    return {
        "simulated": inventory.simulated,
        "source": inventory.source,
        "strategy": inventory.strategy.value,
        "gpus": gpus,
        "free": free_counts(inventory, holdings),
    }


def allocations_view(live: list[AllocationRecord]) -> list[dict[str, Any]]:
    return [r.as_json() for r in live]
