"""Run code in a user's real kernel, as that user would from a notebook: a kernel started
through their server's REST API and an execute_request over the kernel's websocket
(through the hub's proxy, with the user's own token)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from tests.support.hub import Hub


@dataclass
class Execution:
    stdout: str
    error: str | None


class Kernel:
    def __init__(self, hub: Hub, user: str, token: str | None = None) -> None:
        self.hub = hub
        self.user = user
        self.token = token or hub.user_token(user)
        self.base = f"{hub.url}/user/{user}/api"
        r = requests.post(f"{self.base}/kernels", headers=self._headers(), json={}, timeout=60)
        r.raise_for_status()
        self.id = r.json()["id"]

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def run(self, code: str, timeout: float = 60) -> Execution:
        return asyncio.run(asyncio.wait_for(self._run(code), timeout))

    def check(self, code: str, timeout: float = 60) -> str:
        """Run ``code``; its stdout (fails the test on a Python error in the kernel)."""
        result = self.run(code, timeout)
        assert result.error is None, f"{self.user}'s kernel raised: {result.error}"
        return result.stdout

    async def _run(self, code: str) -> Execution:
        url = self.base.replace("http://", "ws://") + f"/kernels/{self.id}/channels"
        conn = await websocket_connect(HTTPRequest(url, headers=self._headers()))
        msg_id = uuid.uuid4().hex
        conn.write_message(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "username": self.user,
                        "session": uuid.uuid4().hex,
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": code, "silent": False, "stop_on_error": True},
                    "channel": "shell",
                    "buffers": [],
                }
            )
        )
        out: list[str] = []
        error = None
        try:
            while True:
                raw = await conn.read_message()
                if raw is None:
                    raise ConnectionError("the kernel websocket closed")
                msg = json.loads(raw)
                state = msg.get("content", {}).get("execution_state")
                if msg["msg_type"] == "status" and state in ("restarting", "dead"):
                    return Execution(stdout="".join(out), error=f"the kernel died ({state})")
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = msg["msg_type"]
                if kind == "stream":
                    out.append(msg["content"]["text"])
                elif kind == "error":
                    error = f"{msg['content']['ename']}: {msg['content']['evalue']}"
                elif kind == "status" and msg["content"]["execution_state"] == "idle":
                    return Execution(stdout="".join(out), error=error)
        finally:
            conn.close()

    def shutdown(self) -> None:
        requests.delete(f"{self.base}/kernels/{self.id}", headers=self._headers(), timeout=30)
