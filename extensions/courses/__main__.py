"""Run the `courses` service (JupyterHub starts it as a managed service).

Environment: SANDBOX_DATA (labs and hand-ins go under <data>/courses),
SANDBOX_COURSES_PORT, SANDBOX_COURSES_NOTEBOOKS (folders publishable as labs; default
the repository's notebooks/), SANDBOX_COURSES_STUDENTS_GROUP and
SANDBOX_COURSES_INSTRUCTORS_GROUP (group templates, default {course}-students and
{course}-instructors), SANDBOX_SITE (the site file: its `courses:` section holds the
quotas and the hub timeout); JupyterHub sets the JUPYTERHUB_* ones."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from jupyterhub.services.auth import HubOAuthCallbackHandler
from jupyterhub.utils import url_path_join
from tornado import web

from extensions.service_lifetime import drain, exit_now, listen, until_stopped
from hub_config.services import remember_courses_port
from hub_config.site import load_site

from . import handlers as h
from .inflight import InFlight
from .limits import Limits
from .roles import CourseNaming
from .service import CourseService
from .store import CourseStore

REPO = Path(__file__).resolve().parents[2]
NAME = r"([^/]+)"


def make_app(env: dict[str, str] | None = None) -> web.Application:
    env = dict(os.environ if env is None else env)
    data = Path(env["SANDBOX_DATA"]) / "courses"
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    notebooks = Path(env.get("SANDBOX_COURSES_NOTEBOOKS") or REPO / "notebooks")
    site = load_site(env=env)
    settings = site["courses"]
    limits = Limits.from_site(settings)
    service = CourseService(store=CourseStore(data), notebooks=notebooks, limits=limits)
    args = {
        "service": service,
        "naming": CourseNaming.from_env(env),
        "transfers": InFlight(),
        "hub_timeout": float(settings["hub_timeout"]),
    }
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", "/services/courses/")
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
    )


async def serve() -> None:
    app = make_app()
    port = int(os.environ["SANDBOX_COURSES_PORT"])
    server = listen(
        app,
        port,
        address=os.environ.get("SANDBOX_SERVICES_BIND_IP", "127.0.0.1"),
        max_body_size=app.settings["max_body_size"],
    )
    # Remembered here, at the service's start, never when the hub's configuration loads.
    remember_courses_port(Path(os.environ["SANDBOX_DATA"]), port)
    # The hub stops its services with a signal: end at once and quietly, without a
    # traceback. A hub that died without stopping us: end too, and free the port.
    await until_stopped()
    await drain(server)


def main() -> None:
    asyncio.run(serve())
    exit_now()


if __name__ == "__main__":
    main()
