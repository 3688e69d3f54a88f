"""Replay a trace through the real allocator (`spawners.core.allocator.allocate`):
accept a request when it gets a placement, hold it until its departure. Each decision
gets the mix the ledger would pass: the slices of the last HISTORY granted requests."""

from __future__ import annotations

import heapq
from collections import Counter, deque
from dataclasses import dataclass

from spawners.core.allocator import PlacementStrategy, allocate
from spawners.core.demand import HISTORY, RequestMix
from spawners.core.model import (
    Gpu,
    GpuMode,
    Holding,
    Inventory,
    MigInstance,
    MigStrategy,
    Placement,
)
from spawners.inventory.simulated import simulated_inventory, stable_gpu_uuid

from .layouts import Layout
from .trace import Request


@dataclass(frozen=True)
class Outcome:
    accepted_value: float
    accepted: int
    requests: int

    @property
    def acceptance(self) -> float:
        return self.accepted / self.requests if self.requests else 0.0


def replay(
    trace: tuple[Request, ...],
    inventory: Inventory,
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
) -> Outcome:
    held: dict[int, Holding] = {}
    departures: list[tuple[float, int]] = []
    value = 0.0
    accepted = 0
    recent: deque[str] = deque()
    counts: Counter[str] = Counter()
    for req in trace:
        while departures and departures[0][0] <= req.arrival:
            _, index = heapq.heappop(departures)
            del held[index]
        mix = RequestMix.observed(dict(counts))
        decision = allocate(inventory, held.values(), req.slice_name, strategy, mix)
        if isinstance(decision, Placement):
            recent.append(req.slice_name)
            counts[req.slice_name] += 1
            if len(recent) > HISTORY:
                counts[recent.popleft()] -= 1
            held[req.index] = decision.as_holding()
            heapq.heappush(departures, (req.departure, req.index))
            value += req.value
            accepted += 1
    return Outcome(value, accepted, len(trace))


def dynamic_inventory(gpus: int) -> Inventory:
    return simulated_inventory(gpus)


def static_inventory(layouts: list[Layout]) -> Inventory:
    """One GPU per layout, its MIG instances already created (the static strategy)."""
    gpus = []
    for i, layout in enumerate(layouts):
        uuid = stable_gpu_uuid(i)
        instances = tuple(
            MigInstance(name, start, f"MIG-{uuid[4:]}-{name}-{start}") for name, start in layout
        )
        gpus.append(Gpu(i, uuid, "H100 80GB (static layout)", GpuMode.MIG, instances=instances))
    return Inventory(gpus=tuple(gpus), strategy=MigStrategy.STATIC, simulated=True)
