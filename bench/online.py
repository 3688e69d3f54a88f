"""The best online placement on one GPU: the most accepted GPU-time any accept-if-it-fits
placement rule can expect on these traces without knowing the future.

It knows what the trace generator knows (the mix, the arrival rate, exponential session
lengths of mean 1, how many requests the trace has) but not the trace itself: each
request is placed where the expected value of the rest of the trace is highest, by exact
dynamic programming over (requests left, the instances on the GPU). Between two arrivals
(an exponential gap at rate r) each running instance leaves with probability
``1 - e^-T``, independently given the gap T, so a given set of j of k instances stays
with probability ``E[e^-jT (1 - e^-T)^(k-j)] = sum_i C(k-j, i) (-1)^i r / (r + j + i)``.
Durations are memoryless, so accepting a request is worth its weight in expectation."""

from __future__ import annotations

import heapq
from functools import cache
from itertools import combinations
from math import comb

from spawners.core.placement import fits
from spawners.core.profiles import slice_profile

from .trace import MEAN_DURATION, MIX, Request, mean_weight

Instances = tuple[tuple[int, int], ...]
"""The instances on the GPU, sorted: (index into MIX, start)."""

_PROFILES = [slice_profile(name) for name, _ in MIX]
_SHARES = [share for _, share in MIX]
_WEIGHTS = [float(p.gpu_hour_weight) for p in _PROFILES]


def _occupancy(instances: Instances) -> tuple[int, int]:
    mask = compute = 0
    for k, start in instances:
        p = _PROFILES[k]
        mask |= ((1 << p.memory_slots) - 1) << start
        compute += p.compute
    return mask, compute


def _stays(k: int, j: int, rate: float) -> float:
    """Probability that a given j of k running instances are still there at the next
    arrival and the other k - j have left (mean duration 1)."""
    return sum(comb(k - j, i) * (-1) ** i * rate / (rate + j + i) for i in range(k - j + 1))


class BestOnline:
    """The expected-value-optimal placement for traces of ``load`` on one GPU."""

    def __init__(self, load: float) -> None:
        if MEAN_DURATION != 1.0:
            raise ValueError("the departure model assumes a mean session length of 1")
        self.rate = load / (MEAN_DURATION * mean_weight())
        self.arrive = cache(self._arrive)
        self.wait = cache(self._wait)

    def _arrive(self, left: int, instances: Instances) -> float:
        """Expected value of the ``left`` requests still to come, the next arriving now."""
        if left == 0:
            return 0.0
        mask, compute = _occupancy(instances)
        total = 0.0
        for k, p in enumerate(_PROFILES):
            options = [
                _WEIGHTS[k] + self.wait(left - 1, tuple(sorted(instances + ((k, s),))))
                for s in p.valid_starts
                if fits(p, s, mask, compute)
            ]
            total += _SHARES[k] * (max(options) if options else self.wait(left - 1, instances))
        return total

    def _wait(self, left: int, instances: Instances) -> float:
        """Expected value of the ``left`` requests to come, just after a decision."""
        if left == 0:
            return 0.0
        k = len(instances)
        return sum(
            _stays(k, j, self.rate) * self.arrive(left, kept)
            for j in range(k + 1)
            for kept in combinations(instances, j)
        )

    def replay(self, trace: tuple[Request, ...]) -> float:
        """Accepted GPU-time of this rule on ``trace``."""
        names = [name for name, _ in MIX]
        instances: Instances = ()
        held: dict[int, tuple[int, int]] = {}
        departures: list[tuple[float, int]] = []
        value = 0.0
        for i, req in enumerate(trace):
            while departures and departures[0][0] <= req.arrival:
                _, index = heapq.heappop(departures)
                gone = held.pop(index)
                instances = tuple(x for x in instances if x != gone)
            k = names.index(req.slice_name)
            mask, compute = _occupancy(instances)
            left = len(trace) - i - 1
            options = [
                (self.wait(left, tuple(sorted(instances + ((k, s),)))), -s, s)
                for s in _PROFILES[k].valid_starts
                if fits(_PROFILES[k], s, mask, compute)
            ]
            if not options:
                continue
            start = max(options)[2]  # ties: the lowest start
            instances = tuple(sorted(instances + ((k, start),)))
            held[req.index] = (k, start)
            heapq.heappush(departures, (req.departure, req.index))
            value += req.value
        return value
