"""The admin page at /services/slices/: the capacity floor, live. The page and its data
need read:users (403 for everyone else); stopping a server goes through the hub's API
with the service's token after the service has checked that the calling token may stop
that server (admin:servers or delete:servers, with the hub's filters)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jupyterhub.services.auth import HubOAuthenticated
from jupyterhub.utils import url_path_join
from markupsafe import Markup
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from extensions.service_lifetime import FinishedOnStop
from spawners.i18n import SOURCE_LANGUAGE
from spawners.i18n.web import (
    language_cookie,
    render,
    request_language,
    script_messages,
    template_environment,
)
from spawners.ledger.ledger import Ledger

from .authz import READ_ALL, may_stop, require, stop_groups
from .overview import overview_view

STATIC = Path(__file__).parent / "static"
TEMPLATES = template_environment(Path(__file__).parent / "templates")


class AdminHandler(FinishedOnStop, HubOAuthenticated, web.RequestHandler):
    def initialize(self, ledger: Ledger, inventory: Any, prefix: str) -> None:
        self.ledger = ledger
        self.inventory = inventory
        self.prefix = prefix

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else None
        message = message or self._reason
        if "/api/" not in self.request.path:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(
                f"<!doctype html><title>{status_code}</title><h1>{status_code}</h1>"
                f"<p class='error'>{html.escape(message)}</p>"
            )
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status_code, "message": message}))


class CapacityPageHandler(AdminHandler):
    @web.authenticated
    @require(READ_ALL, "Only admins can see the capacity page")
    def get(self) -> None:
        language, switched = request_language(
            self.request, self.settings.get("sandbox_language", SOURCE_LANGUAGE)
        )
        if switched:
            self.add_header("Set-Cookie", language_cookie(language))
        config = {
            "xsrf": self.xsrf_token.decode(),
            "prefix": self.prefix,
            "language": language,
            "messages": script_messages(language),
        }
        page = render(
            TEMPLATES,
            "capacity.html",
            language,
            prefix=self.prefix,
            # "</" would end the script element early.
            config=Markup(json.dumps(config).replace("<", "\\u003c")),
        )
        self.set_header("Cache-Control", "no-store")
        self.finish(page)


class OverviewHandler(AdminHandler):
    @require(READ_ALL, "Only admins can see the capacity page")
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(overview_view(self.inventory, self.ledger.live())))


class StopServerHandler(AdminHandler):
    async def post(self) -> None:
        if not self.current_user:
            raise web.HTTPError(403, "Log in to the hub first.")
        try:
            body = json.loads(self.request.body or b"{}")
            user, server = str(body["user"]), str(body.get("server_name") or "")
        except (ValueError, KeyError, TypeError):
            raise web.HTTPError(
                400, "Give the user (and server_name for a named server)."
            ) from None
        caller = self.current_user
        groups = await self.groups_of(user) if stop_groups(caller) else frozenset()
        if not may_stop(caller, user, server, groups):
            raise web.HTTPError(
                403, "This token may not stop that server (needs admin:servers or delete:servers)."
            )
        hub = self.hub_auth
        path = f"/users/{quote(user, safe='')}/server"
        if server:
            path = f"/users/{quote(user, safe='')}/servers/{quote(server, safe='')}"
        try:
            resp = await AsyncHTTPClient().fetch(
                hub.api_url + path,
                method="DELETE",
                headers={"Authorization": f"token {hub.api_token}"},
                request_timeout=30,
            )
        except HTTPClientError as e:
            raise web.HTTPError(
                e.code if e.code in (400, 404) else 502, f"The hub refused: {e.message}"
            ) from None
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"user": user, "server_name": server, "hub_status": resp.code}))

    async def groups_of(self, user: str) -> frozenset[str]:
        """The target user's groups, for a caller whose stop scope is group-filtered."""
        hub = self.hub_auth
        try:
            resp = await AsyncHTTPClient().fetch(
                f"{hub.api_url}/users/{quote(user, safe='')}",
                headers={"Authorization": f"token {hub.api_token}"},
                request_timeout=30,
            )
            return frozenset(json.loads(resp.body).get("groups") or ())
        except (HTTPClientError, OSError, ValueError):
            # Unknown user or no answer: no group grants anything.
            return frozenset()


def admin_routes(prefix: str, args: dict[str, Any]) -> list[tuple]:
    """The page, its data and actions; mounted by the service's make_app."""
    args = {**args, "prefix": prefix}
    return [
        (prefix, CapacityPageHandler, args),
        (prefix.rstrip("/"), web.RedirectHandler, {"url": prefix}),
        (url_path_join(prefix, "api/overview"), OverviewHandler, args),
        (url_path_join(prefix, "api/servers/stop"), StopServerHandler, args),
        (url_path_join(prefix, "static/(.*)"), web.StaticFileHandler, {"path": str(STATIC)}),
    ]
