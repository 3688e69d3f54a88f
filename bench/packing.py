"""Packing quality on a busy node: accepted GPU-time of the online allocator's
strategies against the best static partition, chosen per trace with hindsight, and
against a packer that may move running instances (repack.py)."""

from __future__ import annotations

from spawners.core.allocator import PlacementStrategy

from .layouts import describe
from .repack import repack_value
from .replay import dynamic_inventory, replay, static_inventory
from .static import best_mix, best_uniform, uniform_layout
from .trace import make_trace, offered_value

REPACK = "repack"


def packing_run(seed: int, gpus: int, requests: int, load: float, check_static: bool) -> dict:
    """One trace, every contender. ``check_static`` replays the best uniform partition
    through the real allocator (MigStrategy.STATIC) to confirm the fast pool model."""
    trace = make_trace(seed, gpus, requests, load)
    row: dict = {"seed": seed, "offered_value": offered_value(trace)}
    for strategy in PlacementStrategy:
        out = replay(trace, dynamic_inventory(gpus), strategy)
        row[strategy.value] = {"value": out.accepted_value, "acceptance": out.acceptance}
    row[REPACK] = {"value": repack_value(trace, gpus)}
    uniform = best_uniform(trace, gpus)
    layout = uniform_layout(uniform, gpus)
    row["static-uniform"] = {
        "value": uniform.accepted_value,
        "acceptance": uniform.accepted / requests,
        "layout": describe(layout),
    }
    if check_static:
        real = replay(trace, static_inventory([layout] * gpus))
        if abs(real.accepted_value - uniform.accepted_value) > 1e-6 * max(1.0, real.accepted_value):
            raise AssertionError(f"static pool model {uniform} != allocator replay {real}")
    mix = best_mix(trace, gpus)
    row["static-mix"] = {
        "value": mix.accepted_value,
        "acceptance": mix.accepted / requests,
        "counts": list(mix.counts),
    }
    return row
