"""Tornado handlers of the `courses` service: thin, all decisions are in service.py.

Every error path answers JSON {"status", "message"}: a refusal its 4xx, the hub not
answering 503 (502 when it answers nonsense), never a traceback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.iostream import StreamClosedError
from tornado.log import app_log

from extensions.service_lifetime import FinishedOnStop
from spawners.core.refusals import (
    BODY_NOT_JSON,
    BODY_NOT_OBJECT,
    LOGIN_FIRST,
    RefusalCode,
    TemplatedRefusal,
)
from spawners.i18n import N_, SOURCE_LANGUAGE, translations
from spawners.i18n.web import language_cookie, request_language
from spawners.refusal_status import refused, with_code

from .disposition import attachment
from .inflight import RETRY_AFTER, InFlight
from .limits import MB, mb
from .page import render_page
from .reservations import Caller, Refused, ReservationDesk
from .roles import CourseNaming, Role, course_roles
from .service import CourseError, CourseService
from .stream import lab_pieces, labs_pieces

USERS_ONLY = TemplatedRefusal(RefusalCode.USERS_ONLY, N_("Only hub users take part in courses."))
HUB_AWAY_FOR_YOU = TemplatedRefusal(
    RefusalCode.HUB_UNREACHABLE, N_("Could not reach the hub to check who you are.")
)
HUB_NONSENSE_ABOUT_YOU = TemplatedRefusal(
    RefusalCode.HUB_BAD_ANSWER, N_("The hub's answer about who you are made no sense.")
)
HUB_SILENT_ABOUT_GROUPS = TemplatedRefusal(
    RefusalCode.HUB_UNREACHABLE, N_("The hub did not answer about your groups; try again.")
)
HUB_AWAY_FOR_GROUPS = TemplatedRefusal(
    RefusalCode.HUB_UNREACHABLE, N_("Could not reach the hub to read your groups.")
)
HUB_NONSENSE_ABOUT_GROUPS = TemplatedRefusal(
    RefusalCode.HUB_BAD_ANSWER, N_("The hub's answer about your groups made no sense.")
)


class Busy(web.HTTPError):
    """429 with a Retry-After (send_error clears headers set before it, so write_error
    sets this one)."""

    def __init__(self, message: str) -> None:
        super().__init__(429, message)


class CourseHandler(FinishedOnStop, HubOAuthenticated, web.RequestHandler):
    def initialize(
        self,
        service: CourseService,
        naming: CourseNaming,
        transfers: InFlight,
        hub_timeout: float,
        desk: ReservationDesk,
    ) -> None:
        self.service = service
        self.desk = desk
        self.naming = naming
        self.transfers = transfers
        self.hub_timeout = hub_timeout

    def get_current_user(self) -> Any:
        try:
            return super().get_current_user()
        except ValueError as e:  # the hub's answer was not JSON
            app_log.error("courses: the hub's answer about a caller: %s", e)
            raise refused(HUB_NONSENSE_ABOUT_YOU) from None
        except web.HTTPError as e:
            if e.status_code < 500:
                raise
            # HubAuth says 500 with the hub's address in it: the hub is away, not us.
            app_log.error("courses: could not identify the caller with the hub: %s", e)
            raise refused(HUB_AWAY_FOR_YOU) from None

    @property
    def user_name(self) -> str:
        user = self.current_user
        if not user or user.get("kind", "user") != "user":
            # Services and anonymous callers are never course members.
            raise refused(USERS_ONLY)
        return user["name"]

    async def roles(self) -> dict[str, Role]:
        """The caller's courses, from the groups the hub says they are in now."""
        hub = self.hub_auth
        url = f"{hub.api_url}/users/{quote(self.user_name, safe='')}"
        try:
            resp = await AsyncHTTPClient().fetch(
                url,
                headers={"Authorization": f"token {hub.api_token}"},
                request_timeout=self.hub_timeout,
            )
            groups = json.loads(resp.body)["groups"]
            if not isinstance(groups, list):
                raise TypeError("groups is not a list")
        except HTTPClientError as e:
            app_log.error("courses: could not read %s's groups: %s", self.user_name, e)
            if e.code == 599:  # tornado's code for a timeout or a dropped connection
                raise refused(HUB_SILENT_ABOUT_GROUPS) from None
            raise refused(
                TemplatedRefusal(
                    RefusalCode.HUB_BAD_ANSWER,
                    N_("The hub answered %(status)s for your groups."),
                    {"status": e.code},
                )
            ) from None
        except OSError as e:
            app_log.error("courses: could not reach the hub for %s: %s", self.user_name, e)
            raise refused(HUB_AWAY_FOR_GROUPS) from None
        except (ValueError, KeyError, TypeError) as e:
            app_log.error("courses: the hub's answer for %s: %s", self.user_name, e)
            raise refused(HUB_NONSENSE_ABOUT_GROUPS) from None
        return course_roles([g for g in groups if isinstance(g, str)], self.naming)

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload))

    async def send_pieces(self, pieces: Generator[bytes, None, None]) -> None:
        """A JSON answer written piece by piece (chunked). Each piece waits until the
        connection took the one before, so a slow reader holds one piece, not the labs;
        and other users' requests run in between."""
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        try:
            for piece in pieces:
                self.write(piece)
                await self.flush()
                await asyncio.sleep(0)
        except StreamClosedError:
            return  # the caller went away; nothing to answer
        except OSError as e:
            # A lab file gone mid-answer (an admin cleaning up): the status is sent
            # already, so end the connection; the caller sees a cut answer, not bad data.
            app_log.error("courses: a lab file could not be read while sending: %s", e)
            self.request.connection.close()
            return
        finally:
            pieces.close()
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # Short and safe: never a traceback.
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.message if isinstance(exc, CourseError) else self._reason
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message
        if isinstance(exc, Busy):
            self.set_header("Retry-After", str(RETRY_AFTER))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(with_code(self, exc, {"status": status_code, "message": message})))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, StreamClosedError):
            return  # the caller went away: nobody to answer, nothing to log
        if isinstance(e, CourseError):
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


def api_authenticated(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Like web.authenticated, but an API answers 403 instead of redirecting to login."""

    async def wrapper(self: CourseHandler, *args: Any, **kwargs: Any) -> Any:
        if not self.current_user:
            raise refused(LOGIN_FIRST)
        return await method(self, *args, **kwargs)

    return wrapper


class DownloadHandler(CourseHandler):
    """Sends labs with their contents: one such download per user at a time."""

    @contextmanager
    def one_download(self) -> Iterator[None]:
        key = ("download", self.user_name)
        if not self.transfers.claim(key):
            raise Busy(
                f"A download of labs for you is already running; try again in {RETRY_AFTER} s."
            )
        try:
            yield
        finally:
            self.transfers.release(key)


@web.stream_request_body
class UploadHandler(CourseHandler):
    """Takes a JSON body of files. The body is read as it arrives, only up to this
    route's limit (a larger one is refused by its Content-Length before it is read, or
    dropped as it comes), and one upload per user runs at a time."""

    setting = ""
    """Which quota bounds the files (courses.hand_ins or courses.labs), for messages."""

    def bundle_bytes(self) -> int:
        raise NotImplementedError

    def upload_limit(self) -> int:
        raise NotImplementedError

    def initialize(self, **kwargs: Any) -> None:
        super().initialize(**kwargs)
        # Here, not in prepare: an error before prepare (a bad URL) still ends in on_finish.
        self._body = bytearray()
        self._too_large = False
        self._declared_size: int | None = None
        self._claimed: tuple[str, str] | None = None

    def prepare(self) -> None:
        if self.request.method != "POST":
            return
        if not self.current_user:
            raise refused(LOGIN_FIRST)
        limit = self.upload_limit()
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > limit:
            # Refused, but the body is still read (and dropped as it arrives): answering
            # before it is read closes the connection under the proxy, which then shows
            # its own 503 instead of this 413.
            self._too_large, self._declared_size = True, int(length)
            return
        key = ("upload", self.user_name)
        if not self.transfers.claim(key):
            raise Busy(f"An upload of yours is already running; try again in {RETRY_AFTER} s.")
        self._claimed = key

    def data_received(self, chunk: bytes) -> None:
        if self._too_large or self._finished:
            return
        if len(self._body) + len(chunk) > self.upload_limit():
            self._too_large, self._body = True, bytearray()
        else:
            self._body += chunk

    def _too_large_message(self, size: int | None) -> str:
        most = self.bundle_bytes() // MB
        return (
            f"This request is {mb(size) if size else 'larger'}, more than files of at most "
            f"{most} MB ({self.setting}.max_mb) can take."
        )

    def body_json(self) -> dict[str, Any]:
        if self._too_large:
            raise web.HTTPError(413, self._too_large_message(self._declared_size))
        try:
            body = json.loads(self._body or b"{}")
        except ValueError:
            raise refused(BODY_NOT_JSON) from None
        finally:
            self._body = bytearray()
        if not isinstance(body, dict):
            raise refused(BODY_NOT_OBJECT)
        return body

    def _release(self) -> None:
        if self._claimed is not None:
            self.transfers.release(self._claimed)
            self._claimed = None

    def on_finish(self) -> None:
        self._release()

    def on_connection_close(self) -> None:
        self._release()
        super().on_connection_close()


class PageHandler(CourseHandler):
    @web.authenticated
    async def get(self) -> None:
        me = self.service.me(self.user_name, await self.roles())
        language, switched = request_language(
            self.request, self.settings.get("sandbox_language", SOURCE_LANGUAGE)
        )
        if switched:
            self.add_header("Set-Cookie", language_cookie(language))
        self.set_header("Cache-Control", "no-store")
        self.finish(
            render_page(
                me, xsrf=self.xsrf_token.decode(), prefix=self.settings["prefix"], language=language
            )
        )


class MeHandler(CourseHandler):
    @api_authenticated
    async def get(self) -> None:
        roles = await self.roles()
        me = self.service.me(self.user_name, roles)
        # Each course's lab-session reservations, for the JupyterLab panel.
        reservations = self.desk.for_members(roles)
        for course in me["courses"]:
            course["reservations"] = reservations.get(course["name"], [])
        self.write_json(me)


class SyncHandler(DownloadHandler):
    @api_authenticated
    async def get(self) -> None:
        # ?known=ml101/lab1@2 (repeated): labs the caller has at that version.
        known = {}
        for item in self.get_arguments("known")[:1000]:
            name, _, version = item.rpartition("@")
            if name and version.isdigit():
                known[name] = int(version)
        with self.one_download():
            labs = self.service.sync(await self.roles(), known)
            await self.send_pieces(labs_pieces(labs))


class RepoLabsHandler(CourseHandler):
    @api_authenticated
    async def get(self) -> None:
        self.write_json({"folders": self.service.repo_labs(await self.roles())})


class LabsHandler(UploadHandler):
    setting = "courses.labs"

    def bundle_bytes(self) -> int:
        return self.service.limits.lab_bytes

    def upload_limit(self) -> int:
        return self.service.limits.lab_body

    @api_authenticated
    async def get(self, course: str) -> None:
        self.write_json({"labs": self.service.labs(await self.roles(), course)})

    @api_authenticated
    async def post(self, course: str) -> None:
        meta = self.service.publish(self.user_name, await self.roles(), course, self.body_json())
        self.write_json(meta, status=201)


class LabHandler(DownloadHandler):
    @api_authenticated
    async def get(self, course: str, lab: str) -> None:
        with self.one_download():
            await self.send_pieces(lab_pieces(self.service.bundle(await self.roles(), course, lab)))


class SubmissionsHandler(UploadHandler):
    setting = "courses.hand_ins"

    def bundle_bytes(self) -> int:
        return self.service.limits.hand_in_bytes

    def upload_limit(self) -> int:
        return self.service.limits.hand_in_body

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
        # In memory: a hand-in is small (courses.hand_ins.max_mb) and only instructors ask.
        data = self.service.submission_zip(await self.roles(), course, lab, student, sid)
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", attachment(f"{course}-{lab}-{student}-{sid}.zip"))
        self.finish(data)


class ReservationHandlerBase(CourseHandler):
    """A course's lab-session reservations (extensions/courses/reservations.py): listed,
    made and cancelled by its instructors and the hub's admins; refusals in the caller's
    language."""

    async def caller(self) -> Caller:
        admin = bool(self.current_user.get("admin"))
        return Caller(self.user_name, admin, await self.roles())

    def refused(self, e: Refused) -> None:
        language, _ = request_language(
            self.request, self.settings.get("sandbox_language", SOURCE_LANGUAGE)
        )
        message = translations(language).gettext(e.text) % e.params
        self.write_json({"status": e.status, "message": message}, status=e.status)


class ReservationsHandler(ReservationHandlerBase):
    @api_authenticated
    async def get(self, course: str) -> None:
        try:
            listing = self.desk.listing(await self.caller(), course)
        except Refused as e:
            return self.refused(e)
        self.write_json({"reservations": listing})

    @api_authenticated
    async def post(self, course: str) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = None
        try:
            if not isinstance(body, dict):
                raise Refused(400, N_("The body must be a JSON object."))
            made = self.desk.make(await self.caller(), course, body)
        except Refused as e:
            return self.refused(e)
        self.write_json(made, status=201)


class ReservationHandler(ReservationHandlerBase):
    @api_authenticated
    async def delete(self, course: str, reservation_id: str) -> None:
        try:
            self.desk.cancel(await self.caller(), course, reservation_id)
        except Refused as e:
            return self.refused(e)
        self.set_status(204)
        self.finish()


def reservation_routes(api: str, args: dict[str, Any]) -> list[tuple]:
    """The reservation endpoints of the service's API (``args`` carries the desk)."""
    course = r"([^/]+)"
    return [
        (f"{api}/courses/{course}/reservations", ReservationsHandler, args),
        (f"{api}/courses/{course}/reservations/([^/]+)", ReservationHandler, args),
    ]
