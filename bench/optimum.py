"""The exact offline optimum of a small trace (1-2 GPUs, a dozen requests).

Offline: every arrival and departure is known; the optimum chooses which requests to
accept and where each goes (GPU and start slot), with no migration. A memoised search
over (next request, what still runs on each GPU) states: once a request is decided,
the future depends only on what is still running, so equal states are solved once.
GPUs are identical, so a state lists them sorted (symmetry)."""

from __future__ import annotations

from bisect import bisect_left
from functools import cache

from spawners.core.placement import fits
from spawners.core.profiles import slice_profile

from .trace import Request

Running = tuple[tuple[int, int, int], ...]
"""One GPU's running instances, sorted: (gone, slot mask, compute). ``gone`` is the
first request arriving at or after the instance's departure: only that order matters
to the future, so instances leaving between the same two arrivals are interchangeable."""


def optimum(trace: tuple[Request, ...], gpus: int, must_accept: bool = False) -> float:
    """Best accepted GPU-time. With ``must_accept`` the search may only choose where a
    request goes, never refuse one that fits: the best any accept-if-it-fits allocator
    (ours included) could do, which separates placement from admission."""
    profiles = [slice_profile(r.slice_name) for r in trace]
    values = [r.value for r in trace]
    arrivals = [r.arrival for r in trace]
    gone = [bisect_left(arrivals, r.departure) for r in trace]

    def settle(i: int, state: tuple[Running, ...]) -> tuple[Running, ...]:
        # Forget what has left by request i's arrival, so equal futures share one key.
        return tuple(sorted(tuple(r for r in g if r[0] > i) for g in state))

    @cache
    def best(i: int, state: tuple[Running, ...]) -> float:
        if i == len(trace):
            return 0.0
        profile = profiles[i]
        options = []
        for g, running in enumerate(state):
            if g > 0 and running == state[g - 1]:
                continue  # an identical GPU was already tried
            mask = compute = 0
            for _, m, c in running:
                mask |= m
                compute += c
            for start in profile.valid_starts:
                if fits(profile, start, mask, compute):
                    m = ((1 << profile.memory_slots) - 1) << start
                    grown = tuple(sorted(running + ((gone[i], m, profile.compute),)))
                    placed = state[:g] + (grown,) + state[g + 1 :]
                    options.append(values[i] + best(i + 1, settle(i + 1, placed)))
        if not options or not must_accept:
            options.append(best(i + 1, settle(i + 1, state)))
        return max(options)

    return best(0, tuple(() for _ in range(gpus)))
