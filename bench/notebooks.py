"""Wall time of every tutorial notebook with FAST=True on this machine's CPUs: three
runs each, in rounds (every notebook once, then again), so a burst of load elsewhere
touches one run of several notebooks rather than three of one; the median is the figure
notebooks/README.md quotes. Each run executes the notebook headless exactly as the test
suite does (tests/notebooks/runner.py), in the make-run environment."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.notebooks.conftest import NOTEBOOKS, all_notebooks
from tests.notebooks.runner import execute, headless_environment

from .report import table

ROUNDS = 3


def run(rounds: int = ROUNDS, only: tuple[str, ...] = ()) -> dict[str, Any]:
    paths = [p for p in all_notebooks() if not only or _name(p) in only]
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng is missing (the speech tutorials need it)")
    seconds: dict[str, list[float]] = {_name(p): [] for p in paths}
    saved = dict(os.environ)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as scratch:
            for var, value in headless_environment(Path(scratch) / "no-store").items():
                if value is None:
                    os.environ.pop(var, None)
                else:
                    os.environ[var] = value
            Path(os.environ["SANDBOX_MODELS"]).mkdir()
            for round_ in range(rounds):
                for path in paths:
                    out = Path(scratch) / f"out-{round_}-{_name(path).replace('/', '-')}"
                    _, took = execute(path, {"FAST": True, "SEED": 0, "OUTPUT_DIR": str(out)})
                    seconds[_name(path)].append(round(took, 1))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {
        "cpus": os.cpu_count(),
        "rounds": rounds,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "notebooks": {
            name: {"seconds": runs, "median": statistics.median(runs)}
            for name, runs in seconds.items()
        },
    }


def render(result: dict[str, Any]) -> str:
    rows = [
        (name, r["median"], min(r["seconds"]), max(r["seconds"]))
        for name, r in result["notebooks"].items()
    ]
    return table(
        f"Tutorials, FAST=True on {result['cpus']} CPU cores: median of {result['rounds']} runs (s)",
        ("notebook", "median", "fastest", "slowest"),
        rows,
    )


def _name(path: Path) -> str:
    return path.relative_to(NOTEBOOKS).as_posix()
