"""Static checks on the committed notebooks: stored clean, with the metadata the hub and
the instructors rely on, one parameters cell, and loading only from the model store."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from .conftest import NOTEBOOKS, all_notebooks

IMAGES = {"base", "speech", "vision", "medical", "legal"}
SLICES = {"cpu", "1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"}
# The seed use cases of the data center's users (metadata.sandbox.use_cases).
USE_CASES = {
    "speech-separation",
    "speech-emotion",
    "vision-defects",
    "vision-crops",
    "vision-security",
    "medical-cxr-records",
    "legal-precedents",
    "legal-risky-clauses",
    "driving-perception",
}


def name(path: Path) -> str:
    return path.relative_to(NOTEBOOKS).as_posix()


def test_every_tutorial_exists() -> None:
    names = {name(p) for p in all_notebooks()}
    assert "00-getting-started.ipynb" in names
    for folder in ("speech", "vision", "medical", "legal", "instructor"):
        assert any(n.startswith(f"{folder}/") for n in names), f"no notebook in notebooks/{folder}"


@pytest.mark.parametrize("path", all_notebooks(), ids=name)
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{name(path)}: cells {dirty} have outputs or execution counts; clear them"


@pytest.mark.parametrize("path", all_notebooks(), ids=name)
def test_sandbox_metadata(path: Path) -> None:
    meta = nbformat.read(path, as_version=4).metadata.get("sandbox")
    assert meta, f"{name(path)}: metadata.sandbox missing"
    assert meta["image"] in IMAGES
    assert meta["min_slice"] in SLICES
    assert meta["teaches"] and all(isinstance(t, str) and t for t in meta["teaches"])
    folder = path.parent.name
    if folder in IMAGES:
        assert meta["image"] == folder
    assert isinstance(meta.get("use_cases"), list), f"{name(path)}: use_cases missing"
    assert set(meta["use_cases"]) <= USE_CASES, f"{name(path)}: {meta['use_cases']}"


def test_every_seed_use_case_has_a_notebook() -> None:
    covered = {
        case
        for path in all_notebooks()
        for case in nbformat.read(path, as_version=4).metadata["sandbox"].get("use_cases", [])
    }
    assert covered == USE_CASES, f"no notebook for {sorted(USE_CASES - covered)}"


@pytest.mark.parametrize("path", all_notebooks(), ids=name)
def test_one_parameters_cell_with_fast_seed_and_paths(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{name(path)}: exactly one cell tagged 'parameters'"
    source = tagged[0].source
    for var in ("FAST", "SEED", "OUTPUT_DIR"):
        assert re.search(rf"^{var} = ", source, re.M), f"{name(path)}: parameters lack {var}"


@pytest.mark.parametrize("path", all_notebooks(), ids=name)
def test_models_load_only_from_the_store(path: Path) -> None:
    """from_pretrained is only ever given a folder found in the store, never a hub id."""
    code = "\n".join(
        c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"
    )
    for call in re.findall(r"from_pretrained\(([^)]*)\)", code):
        assert "/" not in call and '"' not in call and "'" not in call, f"{name(path)}: {call}"
    assert "hf_hub_download" not in code and "snapshot_download" not in code
