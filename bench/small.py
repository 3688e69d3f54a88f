"""Small instances against the exact offline optimum (see optimum.py)."""

from __future__ import annotations

import random

from spawners.core.allocator import PlacementStrategy

from .optimum import optimum
from .replay import dynamic_inventory, replay
from .trace import make_trace


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
    return row
