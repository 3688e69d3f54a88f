"""The server's course actions (JupyterLab's Course labs panel calls these): list,
pull with the nbgitpuller rule, hand in, and publish a folder of this server's home."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from extensions.courses.bundle import BundleError, encode, read_folder
from extensions.courses.puller import lab_folder, local_status, pull_all
from extensions.courses.roles import valid_name
from spawners.core.refusals import (
    BODY_NOT_JSON,
    BODY_NOT_OBJECT,
    RefusalCode,
    TemplatedRefusal,
)
from spawners.i18n import N_
from spawners.refusal_status import CODE_HEADER, refusal_code_of, refused, with_code

from .courses_client import (
    LOOKUP_TIMEOUT_S,
    TRANSFER_TIMEOUT_S,
    CoursesClient,
    CoursesUnavailable,
)
from .handlers import AUTH_RESOURCE

COURSES_NOT_SET_UP = TemplatedRefusal(
    RefusalCode.NOT_SET_UP, N_("Courses are not set up on this hub.")
)


def bad_folder(template: str, **params: Any) -> TemplatedRefusal:
    """A folder of the home that cannot be handed in or published (the bundle's reason,
    in English, is one of the figures)."""
    return TemplatedRefusal(RefusalCode.BAD_FOLDER, template, params)


def _q(name: str) -> str:
    return quote(name, safe="")


class CourseActionHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def client(self) -> CoursesClient:
        client = self.settings.get("sandbox_courses_client")
        if client is None:
            raise refused(COURSES_NOT_SET_UP)
        return client

    @property
    def home(self) -> Path:
        return Path(self.settings["server_root_dir"]).expanduser()

    def body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise refused(BODY_NOT_JSON) from None
        if not isinstance(body, dict):
            raise refused(BODY_NOT_OBJECT)
        return body

    def names(self, body: dict[str, Any], *keys: str) -> list[str]:
        values = [body.get(k) for k in keys]
        if not all(isinstance(v, str) and valid_name(v) for v in values):
            raise refused(
                TemplatedRefusal(
                    RefusalCode.BAD_REQUEST_BODY,
                    N_("Give %(keys)s as lowercase names."),
                    {"keys": " and ".join(keys)},
                )
            )
        return values  # type: ignore[return-value]

    async def call(
        self, method: str, path: str, body: Any = None, timeout: float = TRANSFER_TIMEOUT_S
    ) -> Any:
        try:
            return await self.client.request(method, path, body, timeout=timeout)
        except CoursesUnavailable as e:
            error = web.HTTPError(e.status, e.message)
            if e.code:  # the service's refusal: its code goes on to JupyterLab
                error.headers = {CODE_HEADER: e.code}
            raise error from None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if refusal_code_of(error) is None:
            return super().write_error(status_code, **kwargs)
        # jupyter_server's shape ({"message", "reason"}) with the refusal's code added.
        body = {"message": error.log_message, "reason": error.reason}
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(with_code(self, error, body)))

    def reply(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))


class CoursesHandler(CourseActionHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        me = await self.call("GET", "api/me", timeout=LOOKUP_TIMEOUT_S)
        for course in me["courses"]:
            for lab in course["labs"]:
                lab["local"] = local_status(self.home, course["name"], lab["name"])
        # How the pull at this server's start went (it runs in the background).
        me["start_pull"] = dict(self.settings.get("sandbox_start_pull") or {})
        self.reply(me)


class PullHandler(CourseActionHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        if body.get("course") or body.get("lab"):
            course, lab = self.names(body, "course", "lab")
            labs = [await self.call("GET", f"api/courses/{_q(course)}/labs/{_q(lab)}")]
            labs[0]["course"], labs[0]["name"] = course, lab
        else:
            labs = (await self.call("GET", "api/sync"))["labs"]
        self.reply({"results": pull_all(self.home, labs)})


class HandInHandler(CourseActionHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        course, lab = self.names(self.body(), "course", "lab")
        try:
            files = read_folder(lab_folder(self.home, course, lab))
        except BundleError as e:
            raise refused(
                bad_folder(
                    N_("Cannot hand in %(course)s/%(lab)s: %(problem)s"),
                    course=course,
                    lab=lab,
                    problem=str(e),
                )
            ) from None
        record = await self.call(
            "POST",
            f"api/courses/{_q(course)}/labs/{_q(lab)}/submissions",
            {"files": encode(files)},
        )
        self.reply(record, status=201)


class PublishHandler(CourseActionHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body()
        course, name = self.names(body, "course", "name")
        folder = str(body.get("folder") or "").strip("/")
        root = self.home.resolve()
        source = (root / folder).resolve()
        if not folder or source == root or not source.is_relative_to(root):
            raise refused(bad_folder(N_("Give a folder inside your home to publish.")))
        try:
            files = read_folder(source)
        except BundleError as e:
            raise refused(
                bad_folder(
                    N_("Cannot publish %(folder)s: %(problem)s"), folder=folder, problem=str(e)
                )
            ) from None
        payload = {
            "name": name,
            "title": body.get("title") or name,
            "due": body.get("due"),
            "files": encode(files),
            "source": f"server:{folder}",
        }
        meta = await self.call("POST", f"api/courses/{_q(course)}/labs", payload)
        self.reply(meta, status=201)
