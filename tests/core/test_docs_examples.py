"""The docs' site-file examples load: every ```yaml block of README.md and docs/ whose
top-level keys are site-file sections is loaded as the hub loads a site (schema and the
checks a schema cannot make), layered over the doc's site blocks before it, as a reader
builds a site from top to bottom. A block that mixes site sections with other keys must
name the file it is (``# values.yaml``); a site file embedded in one (the Helm chart's
``hub.extraFiles.site.stringData``) loads too."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub_config.site import SiteError, deep_merge, load_site

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])
SECTIONS = frozenset(
    yaml.safe_load((REPO / "hub_config" / "schema.yaml").read_text())["properties"]
)
BLOCK = re.compile(r"^```ya?ml\n(.*?)^```", re.S | re.M)
NAMED = re.compile(r"\A#\s*(\S+\.ya?ml)\b")
"""A block whose first line names its file: ``# values.yaml``."""


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int
    text: str

    @property
    def where(self) -> str:
        doc = self.doc.relative_to(REPO) if self.doc.is_relative_to(REPO) else self.doc
        return f"{doc}:{self.line}"


def yaml_blocks(doc: Path) -> list[Block]:
    source = doc.read_text(encoding="utf-8")
    return [
        Block(doc, source[: m.start()].count("\n") + 2, m.group(1)) for m in BLOCK.finditer(source)
    ]


def kind(block: Block) -> str:
    """``site`` (a site file or part of one), ``named`` (another file it names) or
    ``other`` (no site section at all: Ansible variables, a manifest)."""
    parsed = yaml.safe_load(block.text)
    keys = set(parsed) if isinstance(parsed, dict) else set()
    if keys and keys <= SECTIONS:
        return "site"
    if NAMED.match(block.text) and not NAMED.match(block.text).group(1).startswith("site"):
        return "named"
    if keys & SECTIONS:
        raise AssertionError(
            f"{block.where}: a yaml example mixes site sections ({', '.join(sorted(keys & SECTIONS))}) "
            f"with other keys ({', '.join(sorted(keys - SECTIONS))}); name the file it is "
            "(# values.yaml) or keep to site sections"
        )
    return "other"


def load_text(text: str, tmp: Path, name: str = "site.yaml") -> Any:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return load_site(path, env={})


def docs_with_site_blocks() -> list[Path]:
    return [d for d in DOCS if any(kind(b) == "site" for b in yaml_blocks(d))]


@pytest.mark.parametrize("doc", docs_with_site_blocks(), ids=lambda d: d.name)
def test_each_site_example_loads_over_the_ones_before_it(doc: Path, tmp_path: Path) -> None:
    layered: dict[str, Any] = {}
    for block in yaml_blocks(doc):
        if kind(block) != "site":
            continue
        layered = deep_merge(layered, yaml.safe_load(block.text) or {})
        try:
            load_text(yaml.safe_dump(layered, allow_unicode=True), tmp_path)
        except SiteError as e:
            pytest.fail(f"{block.where}: the example does not load: {e}")


def test_a_site_file_inside_another_file_loads(tmp_path: Path) -> None:
    embedded = []
    for doc in DOCS:
        for block in yaml_blocks(doc):
            if kind(block) != "named":
                continue
            site = ((yaml.safe_load(block.text).get("hub") or {}).get("extraFiles") or {}).get(
                "site"
            )
            if site:
                embedded.append((block, site["stringData"]))
    assert embedded, "the Helm values example (docs/backends.md) embeds a site file"
    for block, text in embedded:
        try:
            load_text(text, tmp_path)
        except SiteError as e:
            pytest.fail(f"{block.where}: the embedded site file does not load: {e}")


def test_the_docs_have_site_examples() -> None:
    found = {d.name for d in docs_with_site_blocks()}
    assert {"teams.md", "courses.md", "configuration.md", "backends.md"} <= found


def test_a_broken_example_is_caught(tmp_path: Path) -> None:
    """The check is real: a misspelt key or a semantic mistake fails to load."""
    with pytest.raises(SiteError, match="polcy"):
        load_text("teams:\n  a: {kind: startup, groups: [a], polcy: {}}\n", tmp_path)
    doc = tmp_path / "doc.md"
    doc.write_text("```yaml\nhub: {port: 1}\nsingleuser: {}\n```\n")
    with pytest.raises(AssertionError, match="mixes site sections"):
        kind(yaml_blocks(doc)[0])
