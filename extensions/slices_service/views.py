"""What the service shows, as plain data built from the inventory and the ledger."""

from __future__ import annotations

from typing import Any

from spawners.core.allocator import free_counts, gpu_states, slice_families
from spawners.core.model import Gpu, GpuMode, Inventory
from spawners.core.profiles import MEMORY_SLOTS
from spawners.ledger.records import AllocationRecord


def gpu_header(gpu: Gpu) -> dict[str, Any]:
    """What every view says about a GPU itself: its model, its family (``H200 141GB``)
    and, for a MIG GPU, the profiles it has and where each can start."""
    return {
        "index": gpu.index,
        "uuid": gpu.uuid,
        "model": gpu.model,
        "family": gpu.family,
        "node": gpu.node,
        "mode": gpu.mode.value,
        "memory_gb": gpu.memory_gb,
        "mig_profiles": (
            [
                {
                    "name": p.name,
                    "memory_gb": p.memory_gb,
                    "memory_slots": p.memory_slots,
                    "compute": p.compute,
                    "valid_starts": list(p.valid_starts),
                }
                for p in gpu.table.profiles
            ]
            if gpu.mode is GpuMode.MIG
            else []
        ),
    }


def families_view(inventory: Inventory) -> list[dict[str, Any]]:
    """The GPU families of the site, each with its GPUs and the slices they offer."""
    out: dict[str, dict[str, Any]] = {}
    offered = slice_families(inventory)
    for gpu in inventory.gpus:
        family = out.setdefault(gpu.family, {"family": gpu.family, "gpus": [], "slices": []})
        family["gpus"].append(gpu.index)
    for name, labels in offered.items():
        for label in labels:
            out[label]["slices"].append(name)
    return list(out.values())


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
        "families": families_view(inventory),
    }


def allocations_view(live: list[AllocationRecord]) -> list[dict[str, Any]]:
    return [r.as_json() for r in live]
