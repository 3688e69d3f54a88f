"""The service's one HTML page (templates/courses.html, in the user's language); the
data and the script's messages ride along as JSON for static/courses.js."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from markupsafe import Markup

from spawners.i18n.web import render, script_messages, template_environment

TEMPLATES = template_environment(Path(__file__).parent / "templates")


def _json_for_script(data: Any) -> Markup:
    # "</" would end the script element early; escape it (and "<!--").
    return Markup(json.dumps(data).replace("<", "\\u003c"))


def render_page(me: dict[str, Any], *, xsrf: str, prefix: str, language: str = "en") -> str:
    config = {
        "me": me,
        "xsrf": xsrf,
        "prefix": prefix,
        "language": language,
        "messages": script_messages(language),
    }
    return render(
        TEMPLATES,
        "courses.html",
        language,
        prefix=prefix,
        user=me["user"],
        config=_json_for_script(config),
    )
