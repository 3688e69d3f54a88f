"""Allocator benchmark: decision time, packing quality against the best static
partition, and small instances against the exact offline optimum.

Every figure is a ratio taken in this one run; absolute microseconds are printed for
context only (no GPU here: the allocator is pure Python either way)."""

from __future__ import annotations

import statistics
import time
from typing import Any

from spawners.core.allocator import PlacementStrategy

from .decision import occupied_fleet, time_decisions
from .packing import packing_run
from .report import summary, table
from .small import small_run

FA = PlacementStrategy.FRAGMENTATION_AWARE.value
FF = PlacementStrategy.FIRST_FIT.value

# (GPUs, measured requests): fewer at 1,000 GPUs, where one call takes milliseconds.
DECISION_SIZES = ((10, 1000), (100, 500), (1000, 150))
LOADS = (0.7, 1.0, 1.5)
"""Offered GPU weight over capacity; fixed before any result was seen."""
PACKING = {"gpus": 8, "requests": 4000, "seeds": 10}
"""One 8-GPU node (an HGX H100), about 120-300 mean session lengths of traffic."""
SMALL = {"gpus": (1, 2), "min_requests": 8, "max_requests": 14, "seeds": 40}
TARGET_VS_STATIC = 1.2
TARGET_VS_OPTIMUM = 0.98


def run(quick: bool = False) -> dict[str, Any]:
    scale = 4 if quick else 1
    t0 = time.monotonic()
    results: dict[str, Any] = {"decision": [], "packing": [], "small": [], "seconds": {}}
    for gpus, calls in DECISION_SIZES:
        fleet = occupied_fleet(gpus, seed=gpus)
        timing = time_decisions(fleet, max(20, calls // scale), seed=gpus)
        results["decision"].append({"gpus": gpus, "occupancy": fleet.occupancy, **timing})
    results["seconds"]["decision"] = time.monotonic() - t0
    for load in LOADS:
        runs = [
            packing_run(seed, PACKING["gpus"], PACKING["requests"] // scale, load, seed == 0)
            for seed in range(max(2, PACKING["seeds"] // scale))
        ]
        results["packing"].append({"load": load, **PACKING, "runs": runs})
    results["seconds"]["packing"] = time.monotonic() - t0 - sum(results["seconds"].values())
    for gpus in SMALL["gpus"]:
        for load in LOADS:
            runs = [
                small_run(seed, gpus, load, SMALL["min_requests"], SMALL["max_requests"])
                for seed in range(max(4, SMALL["seeds"] // scale))
            ]
            results["small"].append({"gpus": gpus, "load": load, "runs": runs})
    results["seconds"]["small"] = time.monotonic() - t0 - sum(results["seconds"].values())
    results["summary"] = summarise(results)
    return results


def _ratios(runs: list[dict], num: str, den: str, key: str | None = "value") -> list[float]:
    def pick(run: dict, name: str) -> float:
        return run[name][key] if key else run[name]

    return [pick(r, num) / pick(r, den) for r in runs]


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"decision": [], "packing": [], "small": []}
    for d in results["decision"]:
        out["decision"].append(
            {
                "gpus": d["gpus"],
                "median_ratio_fa_vs_ff": d[FA]["median_us"] / d[FF]["median_us"],
                "p99_ratio_fa_vs_ff": d[FA]["p99_us"] / d[FF]["p99_us"],
            }
        )
    for p in results["packing"]:
        runs = p["runs"]
        out["packing"].append(
            {
                "load": p["load"],
                "fa_vs_static_uniform": summary(_ratios(runs, FA, "static-uniform")),
                "fa_vs_static_mix": summary(_ratios(runs, FA, "static-mix")),
                "fa_vs_first_fit": summary(_ratios(runs, FA, FF)),
                "acceptance": {
                    name: statistics.fmean(r[name]["acceptance"] for r in runs)
                    for name in (FA, FF, "static-uniform", "static-mix")
                },
                "layouts": sorted({r["static-uniform"]["layout"] for r in runs}),
            }
        )
    for s in results["small"]:
        runs = s["runs"]
        out["small"].append(
            {
                "gpus": s["gpus"],
                "load": s["load"],
                "fa_vs_optimum": summary(_ratios(runs, FA, "optimum", None)),
                "ff_vs_optimum": summary(_ratios(runs, FF, "optimum", None)),
                "fa_vs_accept_if_fits_optimum": summary(
                    _ratios(runs, FA, "optimum_accept_if_fits", None)
                ),
                "ff_vs_accept_if_fits_optimum": summary(
                    _ratios(runs, FF, "optimum_accept_if_fits", None)
                ),
                "fa_at_optimum": sum(r[FA] >= r["optimum"] * (1 - 1e-9) for r in runs) / len(runs),
            }
        )
    worst_static = min(p["fa_vs_static_uniform"]["worst"] for p in out["packing"])
    mean_opt = [s["fa_vs_optimum"]["mean"] for s in out["small"]]
    out["targets"] = {
        "fa_vs_best_static_uniform >= 1.2 (every load, every seed)": worst_static
        >= TARGET_VS_STATIC,
        "fa_vs_exact_optimum >= 0.98 (mean, every config)": min(mean_opt) >= TARGET_VS_OPTIMUM,
    }
    return out


def render(results: dict[str, Any]) -> str:
    s = results["summary"]
    decision = table(
        "Decision time per allocate() call (us; fastest of 3 runs per request)",
        [
            "GPUs",
            "occupancy",
            "FA median",
            "FA p99",
            "FF median",
            "FF p99",
            "FA/FF med",
            "FA/FF p99",
        ],
        [
            [
                d["gpus"],
                d["occupancy"],
                d[FA]["median_us"],
                d[FA]["p99_us"],
                d[FF]["median_us"],
                d[FF]["p99_us"],
                r["median_ratio_fa_vs_ff"],
                r["p99_ratio_fa_vs_ff"],
            ]
            for d, r in zip(results["decision"], s["decision"], strict=True)
        ],
    )
    packing = table(
        f"Packing, {PACKING['gpus']} GPUs: accepted GPU-time ratios over seeds (mean / worst)",
        ["load", "FA/static", "FA/static-mix", "FA/FF", "accept FA", "FF", "static", "mix"],
        [
            [
                p["load"],
                _mw(p["fa_vs_static_uniform"]),
                _mw(p["fa_vs_static_mix"]),
                _mw(p["fa_vs_first_fit"]),
                p["acceptance"][FA],
                p["acceptance"][FF],
                p["acceptance"]["static-uniform"],
                p["acceptance"]["static-mix"],
            ]
            for p in s["packing"]
        ],
    )
    small = table(
        "Small instances vs exact offline optimum: accepted GPU-time ratios (mean / worst)",
        ["GPUs", "load", "FA/OPT", "FF/OPT", "FA/OPT-fit", "FF/OPT-fit", "FA at OPT"],
        [
            [
                x["gpus"],
                x["load"],
                _mw(x["fa_vs_optimum"]),
                _mw(x["ff_vs_optimum"]),
                _mw(x["fa_vs_accept_if_fits_optimum"]),
                _mw(x["ff_vs_accept_if_fits_optimum"]),
                x["fa_at_optimum"],
            ]
            for x in s["small"]
        ],
    )
    targets = "\n".join(
        f"target {name}: {'MET' if ok else 'NOT MET'}" for name, ok in s["targets"].items()
    )
    return "\n\n".join([decision, packing, small, targets])


def _mw(stats: dict[str, float]) -> str:
    return f"{stats['mean']:.3f} / {stats['worst']:.3f}"
