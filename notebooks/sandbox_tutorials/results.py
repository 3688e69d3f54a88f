"""Seeding, the output folder and a small results file.

Each notebook records its headline figures (accuracy, AUC, TFLOP/s) with ``record``:
they are printed and kept in ``<OUTPUT_DIR>/results.json``, which is what the tests
read to check quality and what an instructor can collect.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path


def setup(output_dir: str | os.PathLike, seed: int) -> Path:
    """Seed every generator the tutorials use and create the output folder."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").unlink(missing_ok=True)
    return out


def record(output_dir: str | os.PathLike, name: str, value: float | str, note: str = "") -> None:
    path = Path(output_dir) / "results.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[name] = value
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    shown = f"{value:.3f}" if isinstance(value, float) else str(value)
    print(f"RESULT {name} = {shown}" + (f"  ({note})" if note else ""))
