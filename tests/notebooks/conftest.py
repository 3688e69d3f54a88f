"""Fixtures for executing the tutorial notebooks headless.

The notebooks run in the make-run environment (no preloaded store; the models that ship
in packages). ``model_store`` fills a temporary store the way images/preload.py lays one
out ($SANDBOX_MODELS/<id>/ + a stamp) with a tiny randomly initialised Whisper built by
the notebooks' own ``sandbox_tutorials.tiny``, to run a connected site's path: Whisper
loaded from the store with ``from_pretrained`` instead of its offline stand-in.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
TIMINGS = ROOT / ".cache" / "notebooks" / "timings.json"

if str(NOTEBOOKS) not in sys.path:
    sys.path.insert(0, str(NOTEBOOKS))

FIXTURE_REVISION = "fixture-tiny-random"


def all_notebooks() -> list[Path]:
    return sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


@pytest.fixture(scope="session")
def model_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sandbox_tutorials import tiny

    store = tmp_path_factory.mktemp("models")

    processor, model = tiny.whisper()
    whisper_dir = store / "openai" / "whisper-small"
    model.save_pretrained(whisper_dir)
    processor.save_pretrained(whisper_dir)
    tiny.stamp(whisper_dir, "openai/whisper-small", FIXTURE_REVISION)

    return store
