"""Fragmentation view: on each MIG GPU, which profiles cannot be placed now, and which
allocations stand in the way at each of their valid starts. Pure.

A profile is *fragmented* on a GPU when the GPU has enough free memory slots and
compute for it but no valid start is free (one 1g.10gb at slot 4 blocks every 3g.40gb
at 4, as in the MIG table), as opposed to a GPU that is simply full."""

from __future__ import annotations

from typing import Any

from spawners.core.allocator import gpu_states
from spawners.core.model import GpuMode, Inventory
from spawners.core.placement import free_count
from spawners.core.profiles import COMPUTE_SLICES, MEMORY_SLOTS
from spawners.ledger.records import AllocationRecord


def _who(record: AllocationRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "user": record.user,
        "server_name": record.server_name,
        "slice": record.slice_name,
    }


def fragmentation_view(inventory: Inventory, live: list[AllocationRecord]) -> list[dict[str, Any]]:
    holdings = [h for r in live if (h := r.holding()) is not None]
    states = gpu_states(inventory, holdings)
    out = []
    for gpu in inventory.gpus:
        if gpu.mode is not GpuMode.MIG:
            continue
        mine = [r for r in live if r.gpu_uuid == gpu.uuid]
        holder_of = {slot: r for r in mine for slot in r.slots}
        state = states[gpu.uuid]
        blocked = []
        for profile in gpu.table.largest_first:
            if not mine or free_count(profile, state.occupied_mask, state.compute_used) > 0:
                continue
            compute_short = state.compute_used + profile.compute > COMPUTE_SLICES
            starts = []
            for start in profile.valid_starts:
                slots = list(range(start, start + profile.memory_slots))
                by = {holder_of[s].id: holder_of[s] for s in slots if s in holder_of}
                starts.append(
                    {
                        "start": start,
                        "slots": slots,
                        "blocked_by": [_who(r) for _, r in sorted(by.items())],
                    }
                )
            fewest = min(starts, key=lambda s: (len(s["blocked_by"]), s["start"]))
            blocked.append(
                {
                    "profile": profile.name,
                    "fragmented": state.free_slots >= profile.memory_slots and not compute_short,
                    "compute_short": compute_short,
                    "starts": starts,
                    "release_to_fit": [] if compute_short else fewest["blocked_by"],
                }
            )
        out.append(
            {
                "gpu_uuid": gpu.uuid,
                "gpu_index": gpu.index,
                "node": gpu.node,
                "family": gpu.family,
                "free_slots": state.free_slots,
                "compute_free": COMPUTE_SLICES - state.compute_used,
                "memory_slots": MEMORY_SLOTS,
                "blocked": blocked,
            }
        )
    return out
