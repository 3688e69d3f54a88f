"""site.description is shown under the site's name on the spawn form (escaped), from
the site file through the hub's slice context; none is shown when it is empty."""

from __future__ import annotations

from pathlib import Path

from hub_config.site import load_site
from hub_config.wiring import build_context
from spawners.form import render_form


def _form(tmp_path: Path, site_text: str) -> str:
    path = tmp_path / "site.yaml"
    path.write_text(site_text, encoding="utf-8")
    ctx = build_context(load_site(path, env={}), tmp_path)
    choices = ctx.choices_for("ana", frozenset())
    return render_form(
        choices, {}, ctx.images, ctx.site_name, site_description=ctx.site_description
    )


def test_the_description_is_shown_under_the_name(tmp_path: Path) -> None:
    html = _form(tmp_path, "site: {name: Lab, description: 'H100 slices <for> ML101'}\n")
    assert '<p>Lab</p><p class="sandbox-site-description">H100 slices &lt;for&gt; ML101</p>' in html


def test_no_description_no_paragraph(tmp_path: Path) -> None:
    assert "sandbox-site-description" not in _form(tmp_path, "site: {name: Lab}\n")
