from __future__ import annotations

import json
import os
import time
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from .slice_info import slice_info

AUTH_RESOURCE = "sandbox"
"""What jupyter-server's authorizer is asked about (read: GET, write: POST); JupyterHub's
authorizer grants it to tokens with access to this server, as for the contents API."""

HUB_VIEW_TTL_S = 30.0
"""The hub's view (budget, notices) changes slowly; the status bar polls every few seconds."""


class HubView:
    """The slices service's ``api/me`` for this server's user, read with the server's own
    token (SANDBOX_USAGE_URL, set by the hub's team policy) and cached briefly. Absent or
    failing, the slice endpoint still answers from the environment alone."""

    def __init__(self, url: str | None, token: str | None) -> None:
        self.url, self.token = url, token
        self._value: dict[str, Any] | None = None
        self._at = -HUB_VIEW_TTL_S

    async def get(self) -> dict[str, Any] | None:
        if not self.url or not self.token:
            return None
        if time.monotonic() - self._at < HUB_VIEW_TTL_S:
            return self._value
        self._at = time.monotonic()
        try:
            resp = await AsyncHTTPClient().fetch(
                self.url, headers={"Authorization": f"token {self.token}"}, request_timeout=3
            )
            value = json.loads(resp.body)
            self._value = value if isinstance(value, dict) else None
        except (HTTPClientError, OSError, ValueError):
            self._value = None
        return self._value


class SliceHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    async def get(self) -> None:
        view = self.settings.get("sandbox_hub_view")
        info = slice_info(
            os.environ,
            nvml_reader=self.settings.get("sandbox_nvml_reader"),
            hub_view=await view.get() if view is not None else None,
        )
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(info))
