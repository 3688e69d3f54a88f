"""The allocator: given the inventory, what is held now and a requested slice, return
a placement or a refusal that says what is free. Pure: no I/O, no clock."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from .model import (
    Gpu,
    GpuMode,
    Holding,
    Inventory,
    MigStrategy,
    Placement,
    Refusal,
    RefusalCode,
    full_mask,
    profile_slots,
    slots_mask,
)
from .placement import fits, free_count, placement_loss
from .profiles import MEMORY_SLOTS, SLICES_BY_NAME, SliceKind, SliceProfile, slice_profile


class PlacementStrategy(StrEnum):
    FRAGMENTATION_AWARE = "fragmentation-aware"
    FIRST_FIT = "first-fit"


@dataclass(frozen=True)
class GpuState:
    """What is taken on one GPU."""

    occupied_mask: int = 0
    compute_used: int = 0

    @property
    def free_slots(self) -> int:
        return MEMORY_SLOTS - bin(self.occupied_mask).count("1")


def gpu_states(inventory: Inventory, holdings: Iterable[Holding]) -> dict[str, GpuState]:
    """Occupancy of every GPU. A holding on an unknown GPU is ignored here (the ledger
    keeps it; reconciliation reports it)."""
    masks = {g.uuid: 0 for g in inventory.gpus}
    compute = {g.uuid: 0 for g in inventory.gpus}
    for h in holdings:
        if h.gpu_uuid not in masks:
            continue
        masks[h.gpu_uuid] |= slots_mask(h.slots)
        compute[h.gpu_uuid] += slice_profile(h.slice_name).compute
    return {u: GpuState(masks[u], compute[u]) for u in masks}


def simulated_device_uuid(gpu_uuid: str, slice_name: str, start: int) -> str:
    """A stable MIG UUID for a simulated instance, shaped like NVML's."""
    return "MIG-" + str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"{gpu_uuid}/{slice_name}/{start}"))


def _can_hold(gpu: Gpu, profile: SliceProfile, strategy: MigStrategy) -> bool:
    if profile.kind is SliceKind.MIG:
        if gpu.mode is not GpuMode.MIG:
            return False
        if strategy is MigStrategy.STATIC:
            return any(i.profile == profile.name for i in gpu.instances)
        return True
    if profile.kind is SliceKind.MPS:
        return gpu.mode is GpuMode.MPS
    if profile.kind is SliceKind.GPU:
        return gpu.mode in (GpuMode.MPS, GpuMode.WHOLE)
    return False


def _free_on_gpu(gpu: Gpu, state: GpuState, profile: SliceProfile, strategy: MigStrategy) -> int:
    if not _can_hold(gpu, profile, strategy):
        return 0
    if profile.kind is SliceKind.MIG:
        if strategy is MigStrategy.STATIC:
            return sum(
                1
                for inst in gpu.instances
                if inst.profile == profile.name
                and slots_mask(inst.slots) & state.occupied_mask == 0
            )
        return free_count(profile, state.occupied_mask, state.compute_used)
    if profile.kind is SliceKind.MPS:
        return state.free_slots // profile.memory_slots
    return 1 if state.occupied_mask == 0 else 0


def free_counts(inventory: Inventory, holdings: Iterable[Holding]) -> dict[str, int]:
    """For every GPU slice this inventory can offer: how many could be granted now, one
    at a time (each count alone, not all together). ``cpu`` is unlimited and omitted."""
    states = gpu_states(inventory, holdings)
    counts: dict[str, int] = {}
    for profile in SLICES_BY_NAME.values():
        if not profile.needs_gpu:
            continue
        if not any(_can_hold(g, profile, inventory.strategy) for g in inventory.gpus):
            continue
        counts[profile.name] = sum(
            _free_on_gpu(g, states[g.uuid], profile, inventory.strategy) for g in inventory.gpus
        )
    return counts


def offered_slices(inventory: Inventory) -> tuple[str, ...]:
    """Every slice some GPU of this inventory could ever hold (plus cpu)."""
    return ("cpu",) + tuple(
        p.name
        for p in SLICES_BY_NAME.values()
        if p.needs_gpu and any(_can_hold(g, p, inventory.strategy) for g in inventory.gpus)
    )


def allocate(
    inventory: Inventory,
    holdings: Iterable[Holding],
    slice_name: str,
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
) -> Placement | Refusal:
    """Place one ``slice_name`` request, or say why not and what is free now."""
    holdings = tuple(holdings)
    profile = SLICES_BY_NAME.get(slice_name)
    if profile is None:
        return Refusal(RefusalCode.NO_SUCH_SLICE, slice_name, free_counts(inventory, holdings))
    if profile.kind is SliceKind.CPU:
        return Placement(slice_name=profile.name)
    states = gpu_states(inventory, holdings)
    candidates = [g for g in inventory.gpus if _can_hold(g, profile, inventory.strategy)]
    if not candidates:
        return Refusal(RefusalCode.NOT_OFFERED, slice_name, free_counts(inventory, holdings))
    if profile.kind is SliceKind.MIG and inventory.strategy is MigStrategy.STATIC:
        placement = _place_static_mig(candidates, states, profile)
    elif profile.kind is SliceKind.MIG:
        placement = _place_dynamic_mig(candidates, states, profile, strategy, inventory.simulated)
    else:
        placement = _place_shared(candidates, states, profile, strategy)
    if placement is None:
        return Refusal(RefusalCode.NO_CAPACITY, slice_name, free_counts(inventory, holdings))
    return placement


def _place_static_mig(
    gpus: list[Gpu], states: dict[str, GpuState], profile: SliceProfile
) -> Placement | None:
    # Fill the most-used GPU first so whole GPUs stay free for large requests.
    for gpu in sorted(gpus, key=lambda g: (states[g.uuid].free_slots, g.index)):
        for inst in sorted(gpu.instances, key=lambda i: i.start):
            if (
                inst.profile == profile.name
                and slots_mask(inst.slots) & states[gpu.uuid].occupied_mask == 0
            ):
                return Placement(
                    profile.name, gpu.uuid, gpu.index, gpu.node, inst.start, inst.slots, inst.uuid
                )
    return None


def _place_dynamic_mig(
    gpus: list[Gpu],
    states: dict[str, GpuState],
    profile: SliceProfile,
    strategy: PlacementStrategy,
    simulated: bool,
) -> Placement | None:
    best: tuple | None = None
    scored_states: set[GpuState] = set()
    for gpu in (
        sorted(gpus, key=lambda g: g.index) if strategy is not PlacementStrategy.FIRST_FIT else gpus
    ):
        state = states[gpu.uuid]
        if strategy is not PlacementStrategy.FIRST_FIT:
            # GPUs in the same state score the same; the lowest index (seen first) wins.
            if state in scored_states:
                continue
            scored_states.add(state)
        for start in profile.valid_starts:
            if not fits(profile, start, state.occupied_mask, state.compute_used):
                continue
            if strategy is PlacementStrategy.FIRST_FIT:
                return _mig_placement(gpu, profile, start, simulated)
            # Lose the least capacity for large profiles; then pack the fuller GPU.
            key = (
                placement_loss(profile, start, state.occupied_mask, state.compute_used),
                state.free_slots,
                gpu.index,
                start,
            )
            if best is None or key < best[0]:
                best = (key, gpu, start)
    if best is None:
        return None
    return _mig_placement(best[1], profile, best[2], simulated)


def _mig_placement(gpu: Gpu, profile: SliceProfile, start: int, simulated: bool) -> Placement:
    device = simulated_device_uuid(gpu.uuid, profile.name, start) if simulated else None
    return Placement(
        profile.name, gpu.uuid, gpu.index, gpu.node, start, profile_slots(profile, start), device
    )


def _place_shared(
    gpus: list[Gpu], states: dict[str, GpuState], profile: SliceProfile, strategy: PlacementStrategy
) -> Placement | None:
    order = (
        gpus
        if strategy is PlacementStrategy.FIRST_FIT
        else sorted(gpus, key=lambda g: (states[g.uuid].free_slots, g.index))
    )
    for gpu in order:
        state = states[gpu.uuid]
        if profile.kind is SliceKind.GPU:
            if state.occupied_mask != 0:
                continue
            return Placement(
                profile.name,
                gpu.uuid,
                gpu.index,
                gpu.node,
                0,
                frozenset(range(MEMORY_SLOTS)),
                gpu.uuid,
            )
        free = [s for s in range(MEMORY_SLOTS) if not state.occupied_mask & (1 << s)]
        if len(free) >= profile.memory_slots:
            slots = frozenset(free[: profile.memory_slots])
            return Placement(profile.name, gpu.uuid, gpu.index, gpu.node, None, slots, gpu.uuid)
    return None


__all__ = [
    "GpuState",
    "PlacementStrategy",
    "allocate",
    "free_counts",
    "full_mask",
    "gpu_states",
    "offered_slices",
    "simulated_device_uuid",
]
