"""The user's server talking to the `courses` hub service, with the server's own hub
token (JUPYTERHUB_API_TOKEN). The service decides what this user may do; this side
only carries files between the user's home and the service."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from spawners.core.server_env import ServerEnv

TRANSFER_TIMEOUT_S = 120.0
"""A pull or hand-in carries whole labs: it may take this long."""

LOOKUP_TIMEOUT_S = 15.0
"""Listing the user's courses carries no files: a service slower than this is reported
as not answering, so the Course labs panel never hangs on it."""


class CoursesUnavailable(Exception):
    """The courses service refused or did not answer: its status, its message and, when
    it said one, its refusal code (spawners/core/refusals.py), relayed as they came."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def _error_message(body: bytes, fallback: str) -> str:
    try:
        return str(json.loads(body).get("message") or fallback)
    except (ValueError, AttributeError):
        return fallback


def _error_code(body: bytes) -> str | None:
    try:
        code = json.loads(body).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, str) else None


class CoursesClient:
    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.token = token

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CoursesClient | None:
        url, token = env.get(ServerEnv.COURSES_URL), env.get("JUPYTERHUB_API_TOKEN")
        return cls(url, token) if url and token else None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}", "Content-Type": "application/json"}

    def sync_blocking(
        self, known: Mapping[str, int] | None = None, timeout: float = 10
    ) -> list[dict[str, Any]]:
        """Every lab for this user (at server start, before the event loop runs); labs at
        a ``known`` version come without contents."""
        query = urllib.parse.urlencode([("known", f"{k}@{v}") for k, v in (known or {}).items()])
        url = self.base_url + "api/sync" + (f"?{query}" if query else "")
        req = urllib.request.Request(url, headers=self._headers())
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (our hub)
                return json.loads(resp.read())["labs"]
        except urllib.error.HTTPError as e:
            raise CoursesUnavailable(e.code, _error_message(e.read(), e.reason)) from None
        except (OSError, ValueError, KeyError) as e:
            raise CoursesUnavailable(503, f"the courses service did not answer ({e})") from None

    async def request(
        self, method: str, path: str, body: Any = None, timeout: float = TRANSFER_TIMEOUT_S
    ) -> Any:
        try:
            resp = await AsyncHTTPClient().fetch(
                self.base_url + path,
                method=method,
                headers=self._headers(),
                body=None if body is None else json.dumps(body),
                request_timeout=timeout,
            )
        except HTTPClientError as e:
            raw = e.response.body if e.response is not None else b""
            if e.code == 599:  # tornado's own code: a timeout or a dropped connection
                raise CoursesUnavailable(
                    503, f"the courses service did not answer ({e.message.lower()})"
                ) from None
            raise CoursesUnavailable(
                e.code, _error_message(raw, str(e)), _error_code(raw)
            ) from None
        except OSError as e:
            raise CoursesUnavailable(503, f"the courses service did not answer ({e})") from None
        return json.loads(resp.body)
