"""Readiness follows JupyterHub's contract: a started server has http_timeout to answer,
and an answer that comes late (a saturated machine) still counts; a server that never
answers fails with a message naming the limit."""

from __future__ import annotations

import asyncio
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyterhub.spawner import Spawner
from tornado import web

from spawners.mixin import SliceSpawnerMixin
from tests.backends import inprocess


class RunningEngine(Spawner):
    """An engine whose server process runs (what it answers is the test's business)."""

    async def start(self):  # pragma: no cover - the test calls the wait directly
        raise NotImplementedError

    async def stop(self, now: bool = False) -> None:
        return None

    async def poll(self) -> int | None:
        return None


class Spawned(SliceSpawnerMixin, RunningEngine):
    pass


class SlowHandler(http.server.BaseHTTPRequestHandler):
    delay = 3.0

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        time.sleep(self.delay)
        self.send_response(302)
        self.send_header("Location", "/lab")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def _spawner(tmp_path: Path, http_timeout: int) -> Spawned:
    return Spawned(
        user=inprocess.user("slow"),
        hub=inprocess.hub(),
        slice_context=inprocess.slice_context(tmp_path),
        http_timeout=http_timeout,
    )


def test_a_server_that_answers_late_within_the_limit_is_up(
    tmp_path: Path, slow_server: int
) -> None:
    spawner = _spawner(tmp_path, http_timeout=10)
    t0 = time.monotonic()
    asyncio.run(spawner._wait_until_answering(("127.0.0.1", slow_server)))
    assert SlowHandler.delay <= time.monotonic() - t0 < 10


def test_a_server_that_never_answers_fails_naming_the_limit(tmp_path: Path) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts, never answers
        spawner = _spawner(tmp_path, http_timeout=5)
        t0 = time.monotonic()
        with pytest.raises(web.HTTPError) as failed:
            asyncio.run(spawner._wait_until_answering(silent.getsockname()))
    assert 5 <= time.monotonic() - t0 < 15
    assert "did not answer within 5 seconds" in failed.value.log_message
    assert "http_timeout" in failed.value.log_message
