"""The service's one HTML page; the data rides along as JSON for static/courses.js."""

from __future__ import annotations

import html
import json
from typing import Any


def _json_for_script(data: Any) -> str:
    # "</" would end the script element early; escape it (and "<!--").
    return json.dumps(data).replace("<", "\\u003c")


def render_page(me: dict[str, Any], *, xsrf: str, prefix: str) -> str:
    config = {"me": me, "xsrf": xsrf, "prefix": prefix}
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Course labs</title>
<link rel="stylesheet" href="{html.escape(prefix)}static/courses.css">
</head>
<body>
<header><h1>Course labs</h1><span class="who">{html.escape(me["user"])}</span>
<a href="/hub/home">Hub home</a></header>
<main id="courses" aria-live="polite"></main>
<script id="courses-config" type="application/json">{_json_for_script(config)}</script>
<script src="{html.escape(prefix)}static/courses.js"></script>
</body>
</html>
"""
