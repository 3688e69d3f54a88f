"""Seeding, the output folder and the results file.

Each notebook names the models it used with ``model`` and records its figures with
``record``; both land in ``<OUTPUT_DIR>/results.json``, which the tests read to check
quality and an instructor can collect::

    {"figures": {name: value},
     "models": {name: {"source": "pretrained" | "random-fallback", "id": ..., "sha256": ...}},
     "meaningless": [figures computed with a random fallback]}

A figure recorded with ``model=<name>`` of a random-fallback model is listed under
``meaningless`` (and printed so), so nobody reads noise as a result.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping
from pathlib import Path

SOURCES = ("pretrained", "random-fallback")


def _path(output_dir: str | os.PathLike) -> Path:
    return Path(output_dir) / "results.json"


def _read(output_dir: str | os.PathLike) -> dict:
    path = _path(output_dir)
    if not path.is_file():
        return {"figures": {}, "models": {}, "meaningless": []}
    return json.loads(path.read_text(encoding="utf-8"))


def _write(output_dir: str | os.PathLike, data: dict) -> None:
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    _path(output_dir).write_text(text, encoding="utf-8")


def setup(output_dir: str | os.PathLike, seed: int) -> Path:
    """Seed every generator the tutorials use and start an empty results file."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    _path(out).unlink(missing_ok=True)
    _write(out, _read(out))
    return out


def model(output_dir: str | os.PathLike, name: str, entry: Mapping[str, object]) -> None:
    """Name a model the figures depend on (``store.Resolved.as_result()`` or
    ``fallback(id)``)."""
    if entry.get("source") not in SOURCES or "id" not in entry or "sha256" not in entry:
        raise ValueError(f"model {name!r}: needs source ({' or '.join(SOURCES)}), id and sha256")
    data = _read(output_dir)
    data["models"][name] = dict(entry)
    _write(output_dir, data)


def fallback(model_id: str) -> dict[str, object]:
    """The results entry of a small randomly initialised stand-in for model_id."""
    return {"source": "random-fallback", "id": model_id, "sha256": None}


def record(
    output_dir: str | os.PathLike,
    name: str,
    value: float | str,
    note: str = "",
    *,
    model: str | None = None,
) -> None:
    """Keep one figure; ``model`` names the recorded model it was computed with."""
    data = _read(output_dir)
    if model is not None and model not in data["models"]:
        raise ValueError(f"figure {name!r}: model {model!r} was not recorded with model()")
    meaningless = model is not None and data["models"][model]["source"] == "random-fallback"
    data["figures"][name] = value
    listed = [f for f in data["meaningless"] if f != name]
    data["meaningless"] = listed + [name] if meaningless else listed
    _write(output_dir, data)
    shown = f"{value:.3f}" if isinstance(value, float) else str(value)
    notes = [note] if note else []
    if meaningless:
        notes.append(f"MEANINGLESS: computed with a random stand-in for {model}")
    print(f"RESULT {name} = {shown}" + (f"  ({'; '.join(notes)})" if notes else ""))
