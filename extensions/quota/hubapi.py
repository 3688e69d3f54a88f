"""The few hub API calls the quota services make, with the service's own token."""

from __future__ import annotations

import json
import os
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPRequest


class HubApi:
    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        self.url = (url or os.environ["JUPYTERHUB_API_URL"]).rstrip("/")
        self.token = token or os.environ["JUPYTERHUB_API_TOKEN"]

    @property
    def client(self) -> AsyncHTTPClient:
        # Made on use, inside the running event loop (not when a config file loads).
        return AsyncHTTPClient()

    def _request(self, method: str, path: str) -> HTTPRequest:
        return HTTPRequest(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
            request_timeout=30,
            allow_nonstandard_methods=True,
        )

    async def groups(self, user: str) -> frozenset[str]:
        """The user's hub groups now (empty if the user is gone)."""
        r = await self.client.fetch(
            self._request("GET", f"/users/{quote(user)}"), raise_error=False
        )
        if r.code != 200:
            return frozenset()
        return frozenset(json.loads(r.body).get("groups") or [])

    async def stop(self, user: str, server_name: str) -> int:
        """Ask the hub to stop a server (the spawner then releases its slice)."""
        path = (
            f"/users/{quote(user)}/servers/{quote(server_name)}"
            if server_name
            else f"/users/{quote(user)}/server"
        )
        r = await self.client.fetch(self._request("DELETE", path), raise_error=False)
        return r.code
