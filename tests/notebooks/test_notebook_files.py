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


# Korean first, English alongside: every markdown cell teaches in both. Code, links and
# HTML are not teaching text. A line (or a " · " half of a bilingual heading) with Hangul
# is Korean, any other line English, so a Korean sentence's English terms (BM25, DINOv2)
# do not count as English. Korean needs fewer words than English for the same text: the
# tutorials' translations run at 0.6-1.9 Korean words per English word, a Korean summary
# above an English body at about 0.4.
NOT_PROSE = re.compile(r"```.*?```|`[^`\n]*`|<[^>\n]+>|\]\([^)]*\)|https?://\S+", re.S)
HANGUL_WORD = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]+")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
MIN_WORDS = 4  # fewer words is a label, not teaching text
KO_PER_EN = 0.5  # the Korean covers the English, it does not summarise it
EN_PER_KO = 0.4  # the English covers the Korean, it is not a few terms


def _counts(lines: list[str]) -> tuple[int, int]:
    korean = english = 0
    for line in lines:
        for part in line.split(" · "):
            hangul = len(HANGUL_WORD.findall(part))
            if hangul:
                korean += hangul
            else:
                english += len(LATIN_WORD.findall(part))
    return korean, english


def bilingual_problem(source: str) -> str | None:
    """Why a markdown cell is not Korean with English alongside, or None when it is."""
    lines = NOT_PROSE.sub(" ", source).splitlines()
    headings = [line for line in lines if line.lstrip().startswith("#")]
    for heading in headings:
        korean, english = _counts([heading])
        if korean + english >= MIN_WORDS and not (korean and english):
            return f"heading {heading.strip()!r} needs Korean and English"
    korean, english = _counts([line for line in lines if line not in headings])
    if korean + english < MIN_WORDS:
        return None
    if korean < KO_PER_EN * english:
        return f"{korean} Korean words for {english} English: translate the English"
    if english < EN_PER_KO * korean:
        return f"{english} English words for {korean} Korean: add the English"
    return None


@pytest.mark.parametrize("path", all_notebooks(), ids=name)
def test_markdown_is_korean_with_english_alongside(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    problems = [
        f"cell {i}: {problem}"
        for i, cell in enumerate(cells)
        if cell.cell_type == "markdown" and (problem := bilingual_problem(cell.source))
    ]
    assert not problems, f"{name(path)}: " + "; ".join(problems)


BILINGUAL = (
    "## 2. 메모리와 연산 · Memory and compute\n\n"
    "MIG 슬라이스는 GPU 메모리와 연산을 정해진 몫만큼 받습니다. 행렬 곱 벤치마크는 실제로 얻는\n"
    "성능을 보여 줍니다.\n\n"
    "A MIG slice has a fixed share of the GPU's memory and compute; a matmul benchmark\n"
    "shows what you actually get."
)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        (BILINGUAL, None),
        ("## 정리 · What to take away", None),
        ("---", None),
        ("Pick a size and a dtype and run the benchmark `bench(n)` again.", "0 Korean words"),
        (
            "## 1. 나는 어떤 슬라이스에 있나? · Which slice am I on?\n\n"
            "The hub sets `SANDBOX_SLICE`, the slice you picked, and NVML says what the device is.",
            "0 Korean words",
        ),
        (
            "**한국어 요약:** 슬라이스를 확인합니다.\n\n"
            "Run this first on a new server. It tells you which slice of which GPU you are on,\n"
            "what a matmul benchmark achieves and where to keep your work so it survives.",
            "Korean words for",
        ),
        (
            "DINOv2 백본의 CLS 토큰과 패치 토큰 평균을 이어 붙여 BM25, TF-IDF와 비교합니다.\n"
            "```python\nmodel = AutoModel.from_pretrained(folder)  # English in code is not text\n```",
            "0 English words",
        ),
        ("## Which slice am I on?\n\n내 슬라이스를 확인합니다 · Check the slice.", "heading"),
    ],
    ids=[
        "bilingual",
        "short-heading",
        "rule",
        "english",
        "korean-heading",
        "summary",
        "korean",
        "heading",
    ],
)
def test_bilingual_rule(source: str, problem: str | None) -> None:
    found = bilingual_problem(source)
    if problem is None:
        assert found is None, found
    else:
        assert found is not None and problem in found, found
