"""A reference no real allocator can be: one that may move every running instance to any
GPU at any time and ignores MIG start rules, so a request is accepted whenever all the
running instances and it can be packed (first-fit decreasing) into the GPUs' memory slots
and compute slices. How much more it accepts than first-fit bounds, roughly, what any
placement rule could still gain on the same trace (roughly: in a loss system accepting
more now can refuse more later, so it is a reference, not a proof)."""

from __future__ import annotations

import heapq

from spawners.core.profiles import COMPUTE_SLICES, MEMORY_SLOTS, slice_profile

from .trace import Request


def _packs(items: list[tuple[int, int]], gpus: int) -> bool:
    bins = [[0, 0] for _ in range(gpus)]
    for memory, compute in sorted(items, reverse=True):
        for b in bins:
            if b[0] + memory <= MEMORY_SLOTS and b[1] + compute <= COMPUTE_SLICES:
                b[0] += memory
                b[1] += compute
                break
        else:
            return False
    return True


def repack_value(trace: tuple[Request, ...], gpus: int) -> float:
    """Accepted GPU-time of the migrate-at-will packer on ``trace``."""
    held: dict[int, tuple[int, int]] = {}
    departures: list[tuple[float, int]] = []
    value = 0.0
    for req in trace:
        while departures and departures[0][0] <= req.arrival:
            held.pop(heapq.heappop(departures)[1])
        p = slice_profile(req.slice_name)
        item = (p.memory_slots, p.compute)
        if _packs([*held.values(), item], gpus):
            held[req.index] = item
            heapq.heappush(departures, (req.departure, req.index))
            value += req.value
    return value
