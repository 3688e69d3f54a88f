"""The best static partition of a trace, found exactly.

Under a static partition the MIG instances already exist and never overlap, so a
request is accepted iff some instance of its own profile is free: each profile is an
independent pool of identical servers. The trace's outcome therefore depends only on
how many instances of each profile the whole partition has, and is the sum over
profiles of a per-pool table computed once per trace. That makes an exhaustive search
over every uniform layout, and over every per-GPU mix of layouts, cheap."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from functools import cache

import numpy as np

from .layouts import Layout, layout_counts, maximal_layouts
from .trace import MIX, Request

PROFILES: tuple[str, ...] = tuple(name for name, _ in MIX)


@dataclass(frozen=True)
class StaticResult:
    accepted_value: float
    accepted: int
    counts: tuple[int, ...]
    """Instances per profile (in PROFILES order) of the chosen partition."""


def _pool(requests: list[Request], servers: int) -> tuple[float, int]:
    """Greedy loss system: accept while fewer than ``servers`` are busy."""
    busy: list[float] = []
    value = 0.0
    accepted = 0
    for req in requests:
        while busy and busy[0] <= req.arrival:
            heapq.heappop(busy)
        if len(busy) < servers:
            heapq.heappush(busy, req.departure)
            value += req.value
            accepted += 1
    return value, accepted


def pool_tables(trace: tuple[Request, ...], max_servers: int) -> tuple[np.ndarray, np.ndarray]:
    """value[p, k] and accepted[p, k]: what profile p's pool gets with k instances."""
    value = np.zeros((len(PROFILES), max_servers + 1))
    accepted = np.zeros((len(PROFILES), max_servers + 1), dtype=np.int64)
    for p, name in enumerate(PROFILES):
        sub = [r for r in trace if r.slice_name == name]
        for k in range(1, max_servers + 1):
            value[p, k], accepted[p, k] = _pool(sub, k)
            if accepted[p, k] == len(sub):
                value[p, k + 1 :], accepted[p, k + 1 :] = value[p, k], accepted[p, k]
                break
    return value, accepted


def count_vector(layout: Layout) -> tuple[int, ...]:
    counts = layout_counts(layout)
    return tuple(counts[name] for name in PROFILES)


@cache
def layout_vectors() -> dict[tuple[int, ...], Layout]:
    """Distinct instance-count vectors of the maximal layouts (one layout each)."""
    return {count_vector(layout): layout for layout in reversed(maximal_layouts())}


@cache
def mix_vectors(gpus: int) -> np.ndarray:
    """Every count vector a per-GPU mix of maximal layouts on ``gpus`` GPUs can have."""
    singles = np.array(sorted(layout_vectors()), dtype=np.int64)
    sums = np.zeros((1, len(PROFILES)), dtype=np.int64)
    for _ in range(gpus):
        sums = np.unique(
            (sums[:, None, :] + singles[None, :, :]).reshape(-1, len(PROFILES)), axis=0
        )
    return sums


def _best(vectors: np.ndarray, value: np.ndarray, accepted: np.ndarray) -> StaticResult:
    cols = np.arange(len(PROFILES))
    totals = value[cols, vectors].sum(axis=1)
    best = int(np.argmax(totals))
    return StaticResult(
        float(totals[best]),
        int(accepted[cols, vectors[best]].sum()),
        tuple(map(int, vectors[best])),
    )


def best_uniform(trace: tuple[Request, ...], gpus: int) -> StaticResult:
    """Every GPU gets the same layout; the best maximal layout for this trace."""
    vectors = np.array(sorted(layout_vectors()), dtype=np.int64) * gpus
    value, accepted = pool_tables(trace, int(vectors.max()))
    return _best(vectors, value, accepted)


def best_mix(trace: tuple[Request, ...], gpus: int) -> StaticResult:
    """Each GPU may get its own layout; the best such partition for this trace."""
    vectors = mix_vectors(gpus)
    value, accepted = pool_tables(trace, int(vectors.max()))
    return _best(vectors, value, accepted)


def uniform_layout(result: StaticResult, gpus: int) -> Layout:
    per_gpu = tuple(c // gpus for c in result.counts)
    return layout_vectors()[per_gpu]
