"""`python -m bench [allocator] [spawn] [engines] [load] [notebooks] [warnings] [--quick]`: run benchmarks, print tables, write
JSON results to .cache/bench/<name>.json. With no name, run them all."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from . import allocator, engines, load, notebooks, spawn, topologies
from .report import write

BENCHMARKS: dict[str, tuple[Callable[[argparse.Namespace], dict[str, Any]], Callable]] = {
    "allocator": (lambda a: allocator.run(quick=a.quick), allocator.render),
    "spawn": (
        lambda a: spawn.run(spawns=a.spawns or (4 if a.quick else spawn.SPAWNS)),
        spawn.render,
    ),
    "load": (
        lambda a: load.run(
            sizes=tuple(a.users) if a.users else ((4,) if a.quick else (30, 60)),
            slices=tuple(a.slices) if a.slices else (("cpu",) if a.quick else ("cpu", "1g.10gb")),
            starts=a.starts,
        ),
        load.render,
    ),
    "engines": (
        lambda a: engines.run(spawns=a.spawns or (3 if a.quick else engines.SPAWNS)),
        engines.render,
    ),
    "notebooks": (
        lambda a: notebooks.run(rounds=1 if a.quick else notebooks.ROUNDS),
        notebooks.render,
    ),
    "warnings": (
        lambda a: topologies.run(samples=1 if a.quick else topologies.SAMPLES),
        topologies.render,
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer seeds and spawns (a smoke run)")
    parser.add_argument("--spawns", type=int, default=0, help="spawns per arm (default 20)")
    parser.add_argument(
        "--users", type=int, nargs="*", default=[], help="load: class sizes (default 30 60)"
    )
    parser.add_argument(
        "--slices", nargs="*", default=[], help="load: slices to ask for (default cpu 1g.10gb)"
    )
    parser.add_argument(
        "--starts",
        default="auto",
        help="load: our hub's hub.simultaneous_starts, a number or auto (default auto)",
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    failed = False
    for name in args.names or list(BENCHMARKS):
        run, render = BENCHMARKS[name]
        print(f"== {name} ==", flush=True)
        t0 = time.monotonic()
        try:
            results = run(args)
        except Exception as e:  # report and go on to the next benchmark
            print(f"{name} failed: {e}", file=sys.stderr, flush=True)
            failed = True
            continue
        results["quick"] = args.quick
        print(render(results))
        path = write(name, results)
        print(f"({time.monotonic() - t0:.0f}s; results in {path})\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
