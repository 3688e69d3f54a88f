"""Execute one notebook headless the way papermill does: a cell with the overrides is
inserted after the cell tagged ``parameters``, then nbclient runs everything in a fresh
kernel whose working directory is the notebook's folder."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def headless_environment(models: Path) -> dict[str, str | None]:
    """The make-run environment a notebook runs in headless: no preloaded model store
    (an empty ``models`` folder), the models that ship in packages, no GPU, no slice
    (None: unset)."""
    return {
        "SANDBOX_MODELS": str(models),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "CUDA_VISIBLE_DEVICES": "",
        # Other tests (and other projects' jobs) share these 2 cores: OpenMP threads that
        # spin while waiting make torch up to 8x slower under contention; passive waiting
        # keeps the notebooks' run times stable.
        "OMP_WAIT_POLICY": "PASSIVE",
        "MPLBACKEND": "Agg",
        "SANDBOX_SLICE": None,
        "SANDBOX_IMAGE": None,
        "SANDBOX_SLICE_SIMULATED": None,
    }


def parameters_index(nb: nbformat.NotebookNode) -> int:
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    if len(tagged) != 1:
        raise AssertionError(f"expected exactly one cell tagged 'parameters', found {len(tagged)}")
    return tagged[0]


def execute(
    path: Path, params: dict[str, object], *, cell_timeout: int = 90
) -> tuple[nbformat.NotebookNode, float]:
    nb = nbformat.read(path, as_version=4)
    injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in params.items()))
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(parameters_index(nb) + 1, injected)
    client = NotebookClient(
        nb,
        timeout=cell_timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.monotonic()
    client.execute()
    return nb, time.monotonic() - start


def text_output(nb: nbformat.NotebookNode) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
            elif "text/plain" in output.get("data", {}):
                parts.append(output["data"]["text/plain"])
    return "\n".join(parts)


def save_timing(file: Path, name: str, seconds: float, figures: dict | None = None) -> None:
    """Keep the last run's time and headline figures (for notebooks/README.md)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(file.read_text()) if file.is_file() else {}
    data[name] = {"seconds": round(seconds, 1), "cpus": os.cpu_count(), "figures": figures or {}}
    file.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
