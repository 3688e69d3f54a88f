"""The hub's templates compile against JupyterHub's own (which they extend), with the
i18n extension the hub enables; a template that does not would fail only when its page
is first shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
from jupyterhub._data import DATA_FILES_PATH

from hub_config.i18n import TEMPLATES

STOCK = Path(DATA_FILES_PATH) / "templates"


@pytest.mark.parametrize("name", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_template_compiles_over_jupyterhubs(name: str) -> None:
    assert (STOCK / "page.html").is_file(), STOCK
    loader = ChoiceLoader(
        [
            PrefixLoader({"templates": FileSystemLoader([str(STOCK)])}, "/"),
            FileSystemLoader([str(TEMPLATES), str(STOCK)]),
        ]
    )
    env = Environment(loader=loader, autoescape=True, extensions=["jinja2.ext.i18n"])
    template = env.get_template(name)
    assert template.blocks
    # JupyterHub's own page of that name (the parent, where there is one) loads too.
    if (STOCK / name).is_file():
        assert env.get_template(f"templates/{name}").blocks
