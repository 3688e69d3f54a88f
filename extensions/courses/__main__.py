"""Run the `courses` service (JupyterHub starts it as a managed service).

Environment: SANDBOX_DATA (labs and hand-ins go under <data>/courses),
SANDBOX_COURSES_PORT, SANDBOX_SITE (the site file: its `courses:` section holds the group
templates, the folder publishable as labs, the quotas and the hub timeout); JupyterHub
sets the JUPYTERHUB_* ones."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jupyterhub.services.auth import HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado import web

from extensions.bootstrap import Service, ServiceNotStarted, bootstrap
from extensions.service_lifetime import drain, exit_now, listen, until_stopped
from hub_config.services import remember_courses_port

from . import handlers as h
from .inflight import InFlight
from .limits import Limits
from .reservations import reservation_desk
from .roles import CourseNaming
from .service import CourseService
from .store import CourseStore

REPO = Path(__file__).resolve().parents[2]
NAME = r"([^/]+)"


def make_app(env: Mapping[str, str] | None = None) -> web.Application:
    """The service's application, from ``env`` (default: the process's environment);
    what it started from is its ``sandbox_service`` setting."""
    start = bootstrap(env)
    data = start.data / "courses"
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    site = start.site
    settings = site["courses"]
    # null: the repository's own notebooks/ (the tutorials), wherever it is installed.
    notebooks = Path(settings["notebooks"] or REPO / "notebooks")
    limits = Limits.from_site(settings)
    service = CourseService(store=CourseStore(data), notebooks=notebooks, limits=limits)
    args = {
        "service": service,
        "naming": _naming(settings, start),
        "transfers": InFlight(),
        "hub_timeout": float(settings["hub_timeout"]),
        "desk": reservation_desk(start),
    }
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/courses/")
    api = url_path_join(prefix, "api")
    routes = [
        (prefix, h.PageHandler, args),
        (prefix.rstrip("/"), web.RedirectHandler, {"url": prefix}),
        (f"{api}/me", h.MeHandler, args),
        (f"{api}/sync", h.SyncHandler, args),
        (f"{api}/repo-labs", h.RepoLabsHandler, args),
        (f"{api}/courses/{NAME}/labs", h.LabsHandler, args),
        (f"{api}/courses/{NAME}/labs/{NAME}", h.LabHandler, args),
        (f"{api}/courses/{NAME}/labs/{NAME}/submissions", h.SubmissionsHandler, args),
        (f"{api}/courses/{NAME}/labs/{NAME}/my-submissions", h.MySubmissionsHandler, args),
        (
            f"{api}/courses/{NAME}/labs/{NAME}/submissions/{NAME}/([^/]+)\\.zip",
            h.SubmissionZipHandler,
            args,
        ),
        *h.reservation_routes(api, args),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
        (
            url_path_join(prefix, "static/(.*)"),
            web.StaticFileHandler,
            {"path": str(Path(__file__).parent / "static")},
        ),
    ]
    # Uploads are checked per route (handlers.UploadHandler); the server's own cap only
    # has to let the largest allowed one through.
    max_body = max(limits.lab_body, limits.hand_in_body)
    return web.Application(
        routes,
        cookie_secret=os.urandom(32),
        prefix=prefix,
        max_body_size=max_body,
        # The page's language for a browser that asks for none the hub has.
        sandbox_language=site["site"]["language"],
        sandbox_service=start,
    )


def _naming(settings: Mapping[str, Any], start: Service) -> CourseNaming:
    try:
        return CourseNaming.from_site(settings)
    except ValueError as e:  # the schema checks each template, not the pair
        raise ServiceNotStarted(f"site file {start.site.path}: courses: {e}") from None


async def serve() -> None:
    app = make_app()
    start: Service = app.settings["sandbox_service"]
    port = int(os.environ["SANDBOX_COURSES_PORT"])
    server = listen(app, port, address=start.address, max_body_size=app.settings["max_body_size"])
    # Remembered here, at the service's start, never when the hub's configuration loads.
    remember_courses_port(start.data, port)
    # The hub stops its services with a signal: end at once and quietly, without a
    # traceback. A hub that died without stopping us: end too, and free the port.
    await until_stopped()
    await drain(server)


def main() -> None:
    try:
        asyncio.run(serve())
    except ServiceNotStarted as e:
        # One clear line in the hub's log, not a traceback.
        print(e, file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    exit_now()


if __name__ == "__main__":
    main()
