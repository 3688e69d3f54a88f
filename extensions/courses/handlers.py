"""Tornado handlers of the `courses` service: thin, all decisions are in service.py."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from .page import render_page
from .roles import CourseNaming, Role, course_roles
from .service import CourseError, CourseService

MAX_BODY = 80 * 10**6
"""A lab bundle is base64 (4/3 of bundle.MAX_BYTES) plus a little JSON."""


class CourseHandler(HubOAuthenticated, web.RequestHandler):
    def initialize(self, service: CourseService, naming: CourseNaming) -> None:
        self.service = service
        self.naming = naming

    @property
    def user_name(self) -> str:
        user = self.current_user
        if not user or user.get("kind", "user") != "user":
            # Services and anonymous callers are never course members.
            raise web.HTTPError(403, "Only hub users take part in courses.")
        return user["name"]

    async def roles(self) -> dict[str, Role]:
        """The caller's courses, from the groups the hub says they are in now."""
        hub = self.hub_auth
        url = f"{hub.api_url}/users/{quote(self.user_name, safe='')}"
        try:
            resp = await AsyncHTTPClient().fetch(
                url, headers={"Authorization": f"token {hub.api_token}"}, request_timeout=10
            )
        except HTTPClientError as e:
            self.log.error("courses: could not read %s's groups: %s", self.user_name, e)
            raise web.HTTPError(503, "Could not read your groups from the hub.") from None
        return course_roles(json.loads(resp.body).get("groups", []), self.naming)

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload))

    def body_json(self) -> dict[str, Any]:
        if len(self.request.body) > MAX_BODY:
            raise web.HTTPError(413, "The request is too large.")
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "The body must be JSON.") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "The body must be a JSON object.")
        return body

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Short and safe: never a traceback.
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.message if isinstance(exc, CourseError) else self._reason
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status_code, "message": message}))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, CourseError):
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


def api_authenticated(method):  # noqa: ANN001, ANN201
    """Like web.authenticated, but an API answers 403 instead of redirecting to login."""

    async def wrapper(self: CourseHandler, *args: Any, **kwargs: Any) -> Any:
        if not self.current_user:
            raise web.HTTPError(403, "Log in to the hub first.")
        return await method(self, *args, **kwargs)

    return wrapper


class PageHandler(CourseHandler):
    @web.authenticated
    async def get(self) -> None:
        me = self.service.me(self.user_name, await self.roles())
        self.set_header("Cache-Control", "no-store")
        self.finish(render_page(me, xsrf=self.xsrf_token.decode(), prefix=self.settings["prefix"]))


class MeHandler(CourseHandler):
    @api_authenticated
    async def get(self) -> None:
        self.write_json(self.service.me(self.user_name, await self.roles()))


class SyncHandler(CourseHandler):
    @api_authenticated
    async def get(self) -> None:
        # ?known=ml101/lab1@2 (repeated): labs the caller has at that version.
        known = {}
        for item in self.get_arguments("known")[:1000]:
            name, _, version = item.rpartition("@")
            if name and version.isdigit():
                known[name] = int(version)
        self.write_json({"labs": self.service.sync(await self.roles(), known)})


class RepoLabsHandler(CourseHandler):
    @api_authenticated
    async def get(self) -> None:
        self.write_json({"folders": self.service.repo_labs(await self.roles())})


class LabsHandler(CourseHandler):
    @api_authenticated
    async def get(self, course: str) -> None:
        self.write_json({"labs": self.service.labs(await self.roles(), course)})

    @api_authenticated
    async def post(self, course: str) -> None:
        meta = self.service.publish(self.user_name, await self.roles(), course, self.body_json())
        self.write_json(meta, status=201)


class LabHandler(CourseHandler):
    @api_authenticated
    async def get(self, course: str, lab: str) -> None:
        self.write_json(self.service.bundle(await self.roles(), course, lab))


class SubmissionsHandler(CourseHandler):
    @api_authenticated
    async def get(self, course: str, lab: str) -> None:
        subs = self.service.submissions(await self.roles(), course, lab)
        self.write_json({"submissions": subs})

    @api_authenticated
    async def post(self, course: str, lab: str) -> None:
        record = self.service.hand_in(
            self.user_name, await self.roles(), course, lab, self.body_json()
        )
        self.write_json(record, status=201)


class MySubmissionsHandler(CourseHandler):
    @api_authenticated
    async def get(self, course: str, lab: str) -> None:
        subs = self.service.my_submissions(self.user_name, await self.roles(), course, lab)
        self.write_json({"submissions": subs})


class SubmissionZipHandler(CourseHandler):
    @api_authenticated
    async def get(self, course: str, lab: str, student: str, sid: str) -> None:
        data = self.service.submission_zip(await self.roles(), course, lab, student, sid)
        self.set_header("Content-Type", "application/zip")
        name = f"{course}-{lab}-{student}-{sid}.zip".replace('"', "")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.finish(data)
