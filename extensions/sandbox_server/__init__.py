"""Jupyter server extension: the server's own slice at ``GET <base_url>api/sandbox/slice``."""

from __future__ import annotations

from .handlers import SliceHandler


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "extensions.sandbox_server"}]


def _load_jupyter_server_extension(serverapp) -> None:  # noqa: ANN001
    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    route = base_url.rstrip("/") + "/api/sandbox/slice"
    web_app.add_handlers(".*$", [(route, SliceHandler)])
