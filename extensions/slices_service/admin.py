"""The admin page at /services/slices/: the capacity floor, live. Admins only (403 for
everyone else); stopping a server goes through the hub's API with the service's token
after the service has checked that the caller is an admin."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jupyterhub.services.auth import HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from spawners.ledger.ledger import Ledger

from .overview import overview_view

STATIC = Path(__file__).parent / "static"


class AdminHandler(HubOAuthenticated, web.RequestHandler):
    def initialize(self, ledger: Ledger, inventory: Any, prefix: str) -> None:
        self.ledger = ledger
        self.inventory = inventory
        self.prefix = prefix

    def is_admin(self) -> bool:
        user = self.current_user or {}
        return bool(user.get("admin")) or "admin:users" in set(user.get("scopes", []))

    def require_admin(self) -> None:
        if not self.current_user:
            raise web.HTTPError(403, "Log in to the hub first.")
        if not self.is_admin():
            raise web.HTTPError(403, "Only admins can see the capacity page.")

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
    def get(self) -> None:
        self.require_admin()
        config = {"xsrf": self.xsrf_token.decode(), "prefix": self.prefix}
        page = (STATIC / "capacity.html").read_text()
        page = page.replace("__CONFIG__", json.dumps(config).replace("<", "\\u003c")).replace(
            "__PREFIX__", html.escape(config["prefix"])
        )
        self.set_header("Cache-Control", "no-store")
        self.finish(page)


class OverviewHandler(AdminHandler):
    def get(self) -> None:
        self.require_admin()
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(overview_view(self.inventory, self.ledger.live())))


class StopServerHandler(AdminHandler):
    async def post(self) -> None:
        self.require_admin()
        try:
            body = json.loads(self.request.body or b"{}")
            user, server = str(body["user"]), str(body.get("server_name") or "")
        except (ValueError, KeyError, TypeError):
            raise web.HTTPError(
                400, "Give the user (and server_name for a named server)."
            ) from None
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
