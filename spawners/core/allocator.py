"""The allocator: given the inventory, what is held now and a requested slice, return
a placement or a refusal that says what is free. Pure: no I/O, no clock.

It places on geometry (8 memory slots, 7 compute slices, valid starts), which every GPU
model of the catalogue shares; each GPU's own MIG table says which profile names it has
and what they take on it. So a site mixing models works: a ``1g.18gb`` request only
lands on an H200, a ``1g.10gb`` one only on a GPU whose table has ``1g.10gb``, and the
placement carries the GPU-hour weight the slice has on the GPU it landed on.

Dynamic MIG placements are scored against the request mix the caller passes (the
ledger's recent history; spawners.core.demand says how)."""

from __future__ import annotations

import uuid as uuidlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from .demand import PRIOR_ONLY, RequestMix, room_value, shares
from .gpu_models import GPU_MODELS
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
from .profiles import (
    MEMORY_SLOTS,
    SLICES_BY_NAME,
    Geometry,
    MigTable,
    SliceKind,
    SliceProfile,
    slice_profile,
)


class PlacementStrategy(StrEnum):
    FRAGMENTATION_AWARE = "fragmentation-aware"
    """Dynamic MIG: the placement that costs the site's request mix the least room
    (spawners.core.demand); MPS and whole GPUs: the fullest GPU first."""
    LARGEST_FIRST = "largest-first"
    """Dynamic MIG: the placement that loses the least room for the largest profile, then
    the next (the fixed order this project used before the mix-scored one)."""
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
    strategy = gpu.strategy or strategy
    if profile.kind is SliceKind.MIG:
        if gpu.mode is not GpuMode.MIG or gpu.mig_profile(profile.name) is None:
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
    strategy = gpu.strategy or strategy
    if profile.kind is SliceKind.MIG:
        if strategy is MigStrategy.STATIC:
            return sum(
                1
                for inst in gpu.instances
                if inst.profile == profile.name
                and slots_mask(inst.slots) & state.occupied_mask == 0
            )
        here = gpu.mig_profile(profile.name)
        assert here is not None
        return free_count(here, state.occupied_mask, state.compute_used)
    if profile.kind is SliceKind.MPS:
        return state.free_slots // profile.memory_slots
    return 1 if state.occupied_mask == 0 else 0


WHOLE = "gpu"
_MPS_AND_WHOLE: tuple[str, ...] = tuple(
    n for n, p in SLICES_BY_NAME.items() if p.kind in (SliceKind.MPS, SliceKind.GPU)
)


def _holdable(gpu: Gpu, strategy: MigStrategy) -> tuple[str, ...]:
    """The GPU slices this GPU could ever hold (what ``_can_hold`` says yes to)."""
    strategy = gpu.strategy or strategy
    if gpu.mode is GpuMode.MIG:
        if strategy is MigStrategy.STATIC:
            names = gpu.table.names
            return tuple(dict.fromkeys(i.profile for i in gpu.instances if i.profile in names))
        return gpu.table.names
    if gpu.mode is GpuMode.MPS:
        return _MPS_AND_WHOLE
    return (WHOLE,)


def free_counts(inventory: Inventory, holdings: Iterable[Holding]) -> dict[str, int]:
    """For every GPU slice this inventory can offer: how many could be granted now, one
    at a time (each count alone, not all together). ``cpu`` is unlimited and omitted."""
    states = gpu_states(inventory, holdings)
    counts: dict[str, int] = {}
    for gpu in inventory.gpus:
        state = states[gpu.uuid]
        for name in _holdable(gpu, inventory.strategy):
            profile = SLICES_BY_NAME[name]
            counts[name] = counts.get(name, 0) + _free_on_gpu(
                gpu, state, profile, inventory.strategy
            )
    return {n: counts[n] for n in SLICES_BY_NAME if n in counts}


def offered_slices(inventory: Inventory) -> tuple[str, ...]:
    """Every slice some GPU of this inventory could ever hold (plus cpu)."""
    held = {n for g in inventory.gpus for n in _holdable(g, inventory.strategy)}
    return ("cpu",) + tuple(n for n in SLICES_BY_NAME if n in held)


def slice_families(inventory: Inventory) -> dict[str, tuple[str, ...]]:
    """For every GPU slice this inventory offers: the GPU families (``H100 80GB``,
    ``H200 141GB``) of the GPUs that can hold it, in inventory order."""
    out: dict[str, tuple[str, ...]] = {}
    for name in offered_slices(inventory)[1:]:
        profile = SLICES_BY_NAME[name]
        labels: list[str] = []
        for gpu in inventory.gpus:
            if _can_hold(gpu, profile, inventory.strategy) and gpu.family not in labels:
                labels.append(gpu.family)
        out[name] = tuple(labels)
    return out


def catalogue_families(slice_name: str) -> tuple[str, ...]:
    """The catalogue's GPU families that have a MIG profile of this name."""
    return tuple(m.label for m in GPU_MODELS if m.profile(slice_name) is not None)


def allocate(
    inventory: Inventory,
    holdings: Iterable[Holding],
    slice_name: str,
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
    mix: RequestMix = PRIOR_ONLY,
) -> Placement | Refusal:
    """Place one ``slice_name`` request, or say why not and what is free now. ``mix``:
    the requests the site has seen (the ledger's recent history), which the
    fragmentation-aware strategy scores dynamic MIG placements against."""
    holdings = tuple(holdings)
    profile = SLICES_BY_NAME.get(slice_name)
    if profile is None:
        return Refusal(RefusalCode.NO_SUCH_SLICE, slice_name, free_counts(inventory, holdings))
    if profile.kind is SliceKind.CPU:
        return Placement(slice_name=profile.name)
    states = gpu_states(inventory, holdings)
    candidates = [g for g in inventory.gpus if _can_hold(g, profile, inventory.strategy)]
    if not candidates:
        families = catalogue_families(slice_name) if profile.kind is SliceKind.MIG else ()
        return Refusal(
            RefusalCode.NOT_OFFERED, slice_name, free_counts(inventory, holdings), families
        )
    if profile.kind is SliceKind.MIG:
        # The instances that exist first (they are there whether used or not), then the
        # GPUs the hub places on.
        fixed = [g for g in candidates if (g.strategy or inventory.strategy) is MigStrategy.STATIC]
        placed = [g for g in candidates if g not in fixed]
        placement = _place_static_mig(fixed, states, profile) if fixed else None
        if placement is None and placed:
            if strategy is PlacementStrategy.FRAGMENTATION_AWARE:
                placement = _place_by_mix(inventory, placed, states, profile, mix)
            else:
                placement = _place_dynamic_mig(
                    placed, states, profile, strategy, inventory.simulated
                )
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
        here = gpu.mig_profile(profile.name)
        for inst in sorted(gpu.instances, key=lambda i: i.start):
            if (
                inst.profile == profile.name
                and slots_mask(inst.slots) & states[gpu.uuid].occupied_mask == 0
            ):
                return Placement(
                    profile.name,
                    gpu.uuid,
                    gpu.index,
                    gpu.node,
                    inst.start,
                    inst.slots,
                    inst.uuid,
                    gpu_hour_weight=here.gpu_hour_weight if here else None,
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
    scored_states: set[tuple] = set()
    for gpu in (
        sorted(gpus, key=lambda g: g.index) if strategy is not PlacementStrategy.FIRST_FIT else gpus
    ):
        state = states[gpu.uuid]
        here = gpu.mig_profile(profile.name)
        assert here is not None
        geometries = gpu.table.geometries
        if strategy is not PlacementStrategy.FIRST_FIT:
            # GPUs in the same state (and of the same geometry) score the same; the
            # lowest index (seen first) wins.
            seen = (state, here.geometry, geometries)
            if seen in scored_states:
                continue
            scored_states.add(seen)
        for start in here.valid_starts:
            if not fits(here, start, state.occupied_mask, state.compute_used):
                continue
            if strategy is PlacementStrategy.FIRST_FIT:
                return _mig_placement(gpu, here, start, simulated)
            # Lose the least capacity for large profiles; then pack the fuller GPU.
            key = (
                placement_loss(here, start, state.occupied_mask, state.compute_used, geometries),
                state.free_slots,
                gpu.index,
                start,
            )
            if best is None or key < best[0]:
                best = (key, gpu, start)
    if best is None:
        return None
    here = best[1].mig_profile(profile.name)
    return _mig_placement(best[1], here, best[2], simulated)


@lru_cache(maxsize=65536)
def _room(geometries: tuple[Geometry, ...], occupied_mask: int, compute_used: int) -> tuple:
    """How many more of each profile (one geometry each) fit on a GPU in this state."""
    return tuple(free_count(g, occupied_mask, compute_used) for g in geometries)


def _place_by_mix(
    inventory: Inventory,
    gpus: list[Gpu],
    states: dict[str, GpuState],
    profile: SliceProfile,
    mix: RequestMix,
) -> Placement | None:
    # The fleet's room per profile name, over every MIG GPU (GPUs in one state with
    # one table have the same room, so each such group is counted once).
    tables: dict[int, tuple[MigTable, tuple[Geometry, ...]]] = {}
    groups: Counter[tuple[int, int, int]] = Counter()
    for gpu in inventory.gpus:
        if gpu.mode is GpuMode.MIG:
            table = gpu.table
            if id(table) not in tables:
                tables[id(table)] = (table, tuple(p.geometry for p in table.profiles))
            state = states[gpu.uuid]
            groups[(id(table), state.occupied_mask, state.compute_used)] += 1
    room: dict[str, int] = {}
    having: dict[str, int] = {}
    for (key, mask, compute), n in groups.items():
        table, geometries = tables[key]
        for name, free in zip(table.names, _room(geometries, mask, compute), strict=True):
            room[name] = room.get(name, 0) + n * free
            having[name] = having.get(name, 0) + n
    share = shares(tuple(t for t, _ in tables.values()), mix)
    costs: dict[tuple[str, int], float] = {}

    def cost_of(p: SliceProfile, lost: int) -> float:
        # What losing room for ``lost`` more of ``p`` costs the mix.
        key = (p.name, lost)
        if key not in costs:
            s, n, g = share[p.name], room[p.name], having[p.name]
            worth = room_value(n, s, g) - room_value(n - lost, s, g)
            costs[key] = s * float(p.gpu_hour_weight) * worth
        return costs[key]

    best: tuple | None = None
    scored: set[tuple] = set()
    for gpu in sorted(gpus, key=lambda g: g.index):
        state = states[gpu.uuid]
        seen = (state, id(gpu.table))
        if seen in scored:
            continue  # the same cost as a GPU of lower index, seen first
        scored.add(seen)
        here = gpu.mig_profile(profile.name)
        assert here is not None
        table, geometries = tables[id(gpu.table)]
        before = _room(geometries, state.occupied_mask, state.compute_used)
        for start in here.valid_starts:
            if not fits(here, start, state.occupied_mask, state.compute_used):
                continue
            mask = state.occupied_mask | slots_mask(profile_slots(here, start))
            after = _room(geometries, mask, state.compute_used + here.compute)
            cost = sum(
                cost_of(p, b - a)
                for p, b, a in zip(table.profiles, before, after, strict=True)
                if b != a
            )
            # Least cost to the mix; then pack the fuller GPU.
            key = (round(cost, 12), state.free_slots, gpu.index, start)
            if best is None or key < best[0]:
                best = (key, gpu, here, start)
    if best is None:
        return None
    return _mig_placement(best[1], best[2], best[3], inventory.simulated)


def _mig_placement(gpu: Gpu, here: SliceProfile, start: int, simulated: bool) -> Placement:
    """``here``: the profile as it is on ``gpu`` (its geometry and weight there)."""
    device = simulated_device_uuid(gpu.uuid, here.name, start) if simulated else None
    return Placement(
        here.name,
        gpu.uuid,
        gpu.index,
        gpu.node,
        start,
        profile_slots(here, start),
        device,
        gpu_hour_weight=here.gpu_hour_weight,
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
                gpu_hour_weight=profile.gpu_hour_weight,
            )
        free = [s for s in range(MEMORY_SLOTS) if not state.occupied_mask & (1 << s)]
        if len(free) >= profile.memory_slots:
            slots = frozenset(free[: profile.memory_slots])
            return Placement(
                profile.name,
                gpu.uuid,
                gpu.index,
                gpu.node,
                None,
                slots,
                gpu.uuid,
                gpu_hour_weight=profile.gpu_hour_weight,
            )
    return None


__all__ = [
    "GpuState",
    "PlacementStrategy",
    "allocate",
    "catalogue_families",
    "free_counts",
    "full_mask",
    "gpu_states",
    "offered_slices",
    "simulated_device_uuid",
    "slice_families",
]
