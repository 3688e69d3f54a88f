"""Jupyter server extension: the server's own slice at ``GET <base_url>api/sandbox/slice``,
and the course actions (``api/sandbox/courses``, ``.../pull``, ``.../handin``,
``.../publish``), and the tutorials' merge at ``api/sandbox/tutorials``. At start it
merges the current tutorials into ``~/tutorials`` (tutorials.py) and pulls the user's
course labs into their home, both in the background."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from spawners.core.server_env import ServerEnv

from .course_handlers import CoursesHandler, HandInHandler, PublishHandler, PullHandler
from .courses_client import CoursesClient, CoursesUnavailable
from .handlers import HubView, SliceHandler
from .language import lab_language_defaults, server_gettext
from .nvml_reader import open_reader
from .tutorials import TutorialsHandler, start_merge


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "extensions.sandbox_server"}]


START_PULL_TIMEOUT_S = 10
"""How long the start-time pull waits for the courses service (it never delays the start)."""


def _pull_at_start(serverapp, client: CoursesClient, status: dict[str, str]) -> None:  # noqa: ANN001
    """Labs published since the last start land in the home, in a thread of their own so
    that the server answers at once; a slow or absent courses service is reported in
    ``status`` (shown by the Course labs panel through api/sandbox/courses)."""
    from extensions.courses.puller import known_versions, pull_all

    _ = server_gettext(os.environ)
    home = Path(serverapp.root_dir).expanduser()
    try:
        # Labs this home already has at their current version come without contents;
        # the Pull button does a full pull (which also restores deleted files).
        labs = client.sync_blocking(known_versions(home), timeout=START_PULL_TIMEOUT_S)
        results = pull_all(home, labs)
    except CoursesUnavailable as e:
        serverapp.log.warning("sandbox: course labs not pulled: %s", e.message)
        message = _("Course labs were not pulled: %(reason)s") % {"reason": e.message}
        status.update(state="failed", message=message)
        return
    except Exception as e:  # a pull must never take the server down
        serverapp.log.error("sandbox: course labs not pulled: %s", e)
        status.update(state="failed", message=_("Course labs were not pulled (an error)."))
        return
    for result in results:
        serverapp.log.info("sandbox: course lab pulled: %s", result)
    message = _("%(count)s course lab(s) up to date.") % {"count": len(results)}
    status.update(state="done", message=message)


def _load_jupyter_server_extension(serverapp) -> None:  # noqa: ANN001
    web_app = serverapp.web_app
    lab_language_defaults(os.environ)
    base = web_app.settings["base_url"].rstrip("/") + "/api/sandbox"
    simulated = os.environ.get(ServerEnv.SLICE_SIMULATED) == "1"
    web_app.settings["sandbox_nvml_reader"] = None if simulated else open_reader()
    web_app.settings["sandbox_hub_view"] = HubView(
        os.environ.get(ServerEnv.USAGE_URL), os.environ.get("JUPYTERHUB_API_TOKEN")
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
            (base + "/tutorials", TutorialsHandler),
        ],
    )
    home = Path(serverapp.root_dir).expanduser()
    web_app.settings["sandbox_tutorials"] = start_merge(serverapp.log, os.environ, home)
    status: dict[str, str] = {"state": "none", "message": ""}
    web_app.settings["sandbox_start_pull"] = status
    if client is not None:
        _ = server_gettext(os.environ)
        status.update(state="running", message=_("Pulling course labs ..."))
        threading.Thread(
            target=_pull_at_start, args=(serverapp, client, status), daemon=True
        ).start()
