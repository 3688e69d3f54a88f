"""The admin page at /services/slices/: the capacity floor, live. The page and its data
need read:users (403 for everyone else); stopping a server goes through the hub's API
with the service's token after the service has checked that the calling token may stop
that server (admin:servers or delete:servers, with the hub's filters). The charts over
time are charts_api.py's."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jupyterhub.utils import url_path_join
from markupsafe import Markup
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from spawners.core.refusals import LOGIN_FIRST
from spawners.i18n import SOURCE_LANGUAGE
from spawners.i18n.web import (
    language_cookie,
    render,
    request_language,
    script_messages,
    template_environment,
)
from spawners.ledger.ledger import Ledger
from spawners.refusal_status import refused

from .admin_handler import AdminHandler
from .authz import READ_ALL, may_stop, require, stop_groups
from .chartlib import MISSING, SERVED_AT, find_chart_js, node_modules_folders
from .charts_api import chart_routes
from .overview import overview_view
from .reservations_view import reservations_view

STATIC = Path(__file__).parent / "static"
TEMPLATES = template_environment(Path(__file__).parent / "templates")


class CapacityPageHandler(AdminHandler):
    def initialize(
        self, ledger: Ledger, inventory: Any, prefix: str, chart_js: Path | None = None
    ) -> None:
        super().initialize(ledger, inventory, prefix)
        self.chart_js = chart_js

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
            # Where the charting library is served; None: not installed, the page says so.
            chart_library=SERVED_AT if self.chart_js is not None else None,
            reservations=reservations_view(self.ledger, language),
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
            raise refused(LOGIN_FIRST)
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
    chart_js = find_chart_js(node_modules_folders())
    if chart_js is None:
        print(f"slices service: {MISSING}", file=sys.stderr, flush=True)
    return [
        (prefix, CapacityPageHandler, {**args, "chart_js": chart_js}),
        (prefix.rstrip("/"), web.RedirectHandler, {"url": prefix}),
        (url_path_join(prefix, "api/overview"), OverviewHandler, args),
        (url_path_join(prefix, "api/servers/stop"), StopServerHandler, args),
        *chart_routes(prefix, args, chart_js),
        (url_path_join(prefix, "static/(.*)"), web.StaticFileHandler, {"path": str(STATIC)}),
    ]
