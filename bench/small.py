"""Small instances against the exact offline optimum (see optimum.py) and, on one GPU,
the best online placement (see online.py)."""

from __future__ import annotations

import random
from functools import cache

from spawners.core.allocator import PlacementStrategy

from .online import BestOnline
from .optimum import optimum
from .replay import dynamic_inventory, replay
from .trace import make_trace

BEST_ONLINE = "best-online"


@cache
def _best_online(load: float) -> BestOnline:
    return BestOnline(load)  # one per load: its tables serve every seed


def small_run(seed: int, gpus: int, load: float, min_requests: int, max_requests: int) -> dict:
    requests = random.Random(f"size/{seed}").randint(min_requests, max_requests)
    trace = make_trace(seed, gpus, requests, load)
    row: dict = {
        "seed": seed,
        "requests": requests,
        "optimum": optimum(trace, gpus),
        "optimum_accept_if_fits": optimum(trace, gpus, must_accept=True),
    }
    for strategy in PlacementStrategy:
        row[strategy.value] = replay(trace, dynamic_inventory(gpus), strategy).accepted_value
    if gpus == 1:
        row[BEST_ONLINE] = _best_online(load).replay(trace)
    return row


def expected_run(load: float, seeds: range, min_requests: int, max_requests: int) -> dict:
    """Accepted GPU-time summed over many fresh one-GPU traces (seeds the small
    instances do not use): what each rule gets in expectation, where 40 seeds of a dozen
    requests are too few to tell rules 1-2 % apart."""
    out: dict = {"load": load, "seeds": [seeds.start, seeds.stop]}
    totals = {s.value: 0.0 for s in PlacementStrategy} | {BEST_ONLINE: 0.0}
    for seed in seeds:
        requests = random.Random(f"size/{seed}").randint(min_requests, max_requests)
        trace = make_trace(seed, 1, requests, load)
        for strategy in PlacementStrategy:
            totals[strategy.value] += replay(trace, dynamic_inventory(1), strategy).accepted_value
        totals[BEST_ONLINE] += _best_online(load).replay(trace)
    out["value"] = totals
    return out
