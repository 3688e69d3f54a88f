"""The spawn form: images and slices this user may pick, with live free counts."""

from __future__ import annotations

from html import escape

from spawners.core.options import Choices
from spawners.core.profiles import slice_profile


def render_form(
    choices: Choices, free: dict[str, int], descriptions: dict[str, str], site_name: str
) -> str:
    images = "\n".join(
        f'<option value="{escape(i)}"{" selected" if i == choices.default_image else ""}>'
        f"{escape(i)}: {escape(descriptions.get(i, ''))}</option>"
        for i in choices.images
    )
    rows = []
    for name in choices.slices:
        profile = slice_profile(name)
        count = free.get(name)
        if not profile.needs_gpu:
            label, disabled = "always available", ""
        else:
            label = f"{count or 0} free"
            disabled = " disabled" if not count else ""
        checked = " checked" if name == choices.default_slice and not disabled else ""
        rows.append(
            f'<label class="sandbox-slice"><input type="radio" name="slice" value="{escape(name)}"'
            f"{checked}{disabled}> <strong>{escape(name)}</strong> {escape(profile.description)}"
            f' <span class="sandbox-free" data-slice="{escape(name)}">({escape(label)})</span></label><br>'
        )
    return (
        f'<div class="sandbox-form"><p>{escape(site_name)}</p>'
        f'<label for="sandbox-image">Image</label>'
        f'<select id="sandbox-image" name="image" class="form-control">{images}</select>'
        f"<fieldset><legend>Slice</legend>{''.join(rows)}</fieldset></div>"
    )
