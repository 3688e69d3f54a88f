"""Jupyter server extension: the server's own slice at ``GET <base_url>api/sandbox/slice``,
and the course actions (``api/sandbox/courses``, ``.../pull``, ``.../handin``,
``.../publish``). At start it pulls the user's course labs into their home."""

from __future__ import annotations

import os
from pathlib import Path

from .course_handlers import CoursesHandler, HandInHandler, PublishHandler, PullHandler
from .courses_client import CoursesClient, CoursesUnavailable
from .handlers import HubView, SliceHandler
from .nvml_reader import open_reader


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "extensions.sandbox_server"}]


def _pull_at_start(serverapp, client: CoursesClient) -> None:  # noqa: ANN001
    """Labs published since the last start land in the home before the server answers;
    a slow or absent courses service only costs a log line."""
    from extensions.courses.puller import known_versions, pull_all

    home = Path(serverapp.root_dir).expanduser()
    try:
        # Labs this home already has at their current version come without contents;
        # the Pull button does a full pull (which also restores deleted files).
        labs = client.sync_blocking(known_versions(home), timeout=10)
    except CoursesUnavailable as e:
        serverapp.log.warning("sandbox: course labs not pulled: %s", e.message)
        return
    for result in pull_all(home, labs):
        serverapp.log.info("sandbox: course lab pulled: %s", result)


def _load_jupyter_server_extension(serverapp) -> None:  # noqa: ANN001
    web_app = serverapp.web_app
    base = web_app.settings["base_url"].rstrip("/") + "/api/sandbox"
    simulated = os.environ.get("SANDBOX_SLICE_SIMULATED") == "1"
    web_app.settings["sandbox_nvml_reader"] = None if simulated else open_reader()
    web_app.settings["sandbox_hub_view"] = HubView(
        os.environ.get("SANDBOX_USAGE_URL"), os.environ.get("JUPYTERHUB_API_TOKEN")
    )
    client = CoursesClient.from_env(os.environ)
    web_app.settings["sandbox_courses_client"] = client
    web_app.add_handlers(
        ".*$",
        [
            (base + "/slice", SliceHandler),
            (base + "/courses", CoursesHandler),
            (base + "/courses/pull", PullHandler),
            (base + "/courses/handin", HandInHandler),
            (base + "/courses/publish", PublishHandler),
        ],
    )
    if client is not None:
        _pull_at_start(serverapp, client)
