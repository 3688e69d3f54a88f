"""Statistics, tables and the JSON results under .cache/bench/."""

from __future__ import annotations

import json
import math
import platform
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / ".cache" / "bench"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): always one of the measured values."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def summary(ratios: Sequence[float]) -> dict[str, float]:
    """Mean and worst (smallest) of per-seed ratios, with the best for context."""
    return {"mean": statistics.fmean(ratios), "worst": min(ratios), "best": max(ratios)}


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    line = "  ".join("-" * w for w in widths)
    out = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)), line]
    # Numbers right-aligned, labels left-aligned.
    out += [
        "  ".join(
            c.rjust(w) if isinstance(v, int | float) else c.ljust(w)
            for c, v, w in zip(r, row, widths, strict=True)
        )
        for r, row in zip(cells, rows, strict=True)
    ]
    return "\n".join(out)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "gpu": "none (simulated inventory)",
    }


def write(name: str, results: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
    }
    payload.update(results)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path
