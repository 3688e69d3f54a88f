"""Decision time of `allocate` on a partly occupied fleet, for every placement strategy."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass

from spawners.core.allocator import PlacementStrategy, allocate
from spawners.core.demand import RequestMix
from spawners.core.model import Holding, Inventory, Placement
from spawners.core.placement import fits
from spawners.core.profiles import MEMORY_SLOTS, slice_profile
from spawners.inventory.simulated import simulated_inventory

from .report import median, percentile
from .trace import MIX

REPEAT = 3


@dataclass(frozen=True)
class Fleet:
    inventory: Inventory
    holdings: tuple[Holding, ...]

    @property
    def occupancy(self) -> float:
        used = sum(len(h.slots) for h in self.holdings)
        return used / (MEMORY_SLOTS * len(self.inventory.gpus))


def occupied_fleet(gpus: int, seed: int) -> Fleet:
    """Each GPU filled towards its own random target (2-8 memory slots) with slices from
    the trace mix at random valid starts: fragmented, some GPUs full, a few almost
    empty, about two thirds of the memory slots taken: a busy afternoon."""
    rng = random.Random(seed)
    inventory = simulated_inventory(gpus)
    names = [name for name, _ in MIX]
    shares = [share for _, share in MIX]
    holdings: list[Holding] = []
    for gpu in inventory.gpus:
        target = rng.randint(2, MEMORY_SLOTS)
        mask = compute = used = 0
        for _ in range(40):
            profile = slice_profile(rng.choices(names, shares)[0])
            start = rng.choice(profile.valid_starts)
            if used + profile.memory_slots > target or not fits(profile, start, mask, compute):
                continue
            slots = frozenset(range(start, start + profile.memory_slots))
            holdings.append(Holding(gpu.uuid, profile.name, slots, start))
            mask |= ((1 << profile.memory_slots) - 1) << start
            compute += profile.compute
            used += profile.memory_slots
    return Fleet(inventory, tuple(holdings))


def time_decisions(fleet: Fleet, calls: int, seed: int) -> dict[str, dict[str, float]]:
    """Per-call microseconds for each strategy; the two alternate which goes first.

    Each request is timed ``REPEAT`` times and its fastest run kept: on a shared 2-core
    machine a single run's tail is mostly other processes' preemptions, while the
    spread between requests (refusals, full GPUs, profiles) is what p99 should show.
    Each request comes with its own mix, as from a ledger one allocation further on:
    the fleet's holdings, plus the requests made so far."""
    rng = random.Random(seed)
    names = [name for name, _ in MIX]
    shares = [share for _, share in MIX]
    strategies = list(PlacementStrategy)
    for name in names * 3:  # warm the placement tables' caches; not measured
        for strategy in strategies:
            allocate(fleet.inventory, fleet.holdings, name, strategy)
    samples: dict[str, list[float]] = {s.value: [] for s in strategies}
    granted = {s.value: 0 for s in strategies}
    history = Counter(h.slice_name for h in fleet.holdings)
    for i in range(calls):
        name = rng.choices(names, shares)[0]
        history[name] += 1
        mix = RequestMix.observed(dict(history))
        for strategy in strategies if i % 2 == 0 else reversed(strategies):
            best = None
            for _ in range(REPEAT):
                t0 = time.perf_counter_ns()
                decision = allocate(fleet.inventory, fleet.holdings, name, strategy, mix)
                elapsed = time.perf_counter_ns() - t0
                best = elapsed if best is None else min(best, elapsed)
            samples[strategy.value].append(best / 1000)
            granted[strategy.value] += isinstance(decision, Placement)
    return {
        name: {
            "median_us": median(values),
            "p99_us": percentile(values, 99),
            "calls": len(values),
            "granted": granted[name] / len(values),
        }
        for name, values in samples.items()
    }
