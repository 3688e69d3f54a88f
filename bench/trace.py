"""Seeded arrival/departure traces of slice requests, and their value in GPU-time.

The mix and the load are fixed here, once, before any result was looked at: small
slices dominate (students and notebooks), whole GPUs are rare (fine-tuning)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

from spawners.core.demand import PRIOR
from spawners.core.gpu_models import H100_80GB
from spawners.core.profiles import slice_profile

_H100_NAMES = {spec.cls: spec.name for spec in H100_80GB.profiles}
MIX: tuple[tuple[str, float], ...] = tuple((_H100_NAMES[c], share) for c, share in PRIOR)
"""Share of requests per MIG profile: the placement's prior (spawners.core.demand.PRIOR)
in the names of an H100 80GB."""

MEAN_DURATION = 1.0
"""Mean session length; the unit of time in every trace."""


@dataclass(frozen=True)
class Request:
    index: int
    slice_name: str
    arrival: float
    duration: float

    @property
    def departure(self) -> float:
        return self.arrival + self.duration

    @property
    def value(self) -> float:
        """GPU-time if accepted: duration x the slice's GPU weight."""
        return self.duration * float(slice_profile(self.slice_name).gpu_hour_weight)


def mean_weight() -> float:
    return sum(share * float(slice_profile(name).gpu_hour_weight) for name, share in MIX)


def make_trace(seed: int, gpus: int, requests: int, load: float) -> tuple[Request, ...]:
    """Poisson arrivals, exponential durations. ``load`` is the offered GPU weight over
    the capacity: 1.0 means the requests, if all accepted, would fill every GPU on average."""
    rng = random.Random(seed)
    rate = load * gpus / (MEAN_DURATION * mean_weight())
    names = [name for name, _ in MIX]
    shares = [share for _, share in MIX]
    t = 0.0
    out = []
    for i in range(requests):
        t += rng.expovariate(rate)
        name = rng.choices(names, shares)[0]
        out.append(Request(i, name, t, rng.expovariate(1.0 / MEAN_DURATION)))
    return tuple(out)


def offered_value(trace: tuple[Request, ...]) -> float:
    return sum(r.value for r in trace)


def weight(name: str) -> Fraction:
    return slice_profile(name).gpu_hour_weight
