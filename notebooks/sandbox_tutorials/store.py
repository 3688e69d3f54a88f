"""The read-only model store the images preload ($SANDBOX_MODELS/<model id>/).

Notebooks call ``find_model(id)``: a folder to hand to ``from_pretrained``, or None,
in which case they build a small randomly initialised model of the same architecture
(``sandbox_tutorials.tiny``) and ``announce_fallback`` says so plainly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

STAMP = ".sandbox-model.json"  # written by images/preload.py next to each model


def store_root(override: str | os.PathLike | None = None) -> Path:
    return Path(override or os.environ.get("SANDBOX_MODELS") or "/opt/models")


def find_model(model_id: str, root: str | os.PathLike | None = None) -> Path | None:
    """The model's folder in the store, if it holds a loadable model (a config.json)."""
    folder = store_root(root) / model_id
    if (folder / "config.json").is_file():
        stamp = folder / STAMP
        revision = ""
        if stamp.is_file():
            revision = json.loads(stamp.read_text()).get("revision", "")[:12]
        print(
            f"Model store: loading {model_id}{' @ ' + revision if revision else ''} from {folder}"
        )
        return folder
    print(f"Model store: {model_id} not found under {store_root(root)}")
    return None


def announce_fallback(model_id: str, what: str) -> None:
    print(
        f"NOTE: {model_id} is not in the model store, so this notebook uses a small "
        f"RANDOMLY INITIALISED {what} of the same architecture instead. Everything runs "
        "end to end, but its pretrained-model results are meaningless. On an image with "
        "preloaded models (speech, vision, medical, legal) the real model is used."
    )


def list_store(root: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """Every model in the store with its revision and license (from the preload stamp)."""
    base = store_root(root)
    if not base.is_dir():
        return []
    found = []
    for config in sorted(base.glob("*/*/config.json")):
        folder = config.parent
        stamp = folder / STAMP
        info = json.loads(stamp.read_text()) if stamp.is_file() else {}
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        found.append(
            {
                "id": str(folder.relative_to(base)),
                "revision": info.get("revision", "?")[:12],
                "license": info.get("license", "?"),
                "size": f"{size / 1e6:.0f} MB",
            }
        )
    return found
