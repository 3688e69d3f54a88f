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


class BootingEngine(Spawner):
    """An engine that takes ``boot`` seconds to start its server (a busy node, a queued
    job), then hands over the slow server's address."""

    boot = 0.0
    address: tuple[str, int] = ("127.0.0.1", 0)

    async def start(self):
        await asyncio.sleep(self.boot)
        return self.address

    async def stop(self, now: bool = False) -> None:
        return None

    async def poll(self) -> int | None:
        return None


class Booting(SliceSpawnerMixin, BootingEngine):
    pass


def _booting(tmp_path: Path, name: str, boot: float, address, **traits) -> Booting:  # noqa: ANN001
    spawner = Booting(
        user=inprocess.user(name),
        hub=inprocess.hub(),
        slice_context=traits.pop("slice_context", None) or inprocess.slice_context(tmp_path),
        user_options={"image": "base", "slice": "cpu"},
        **traits,
    )
    spawner.boot, spawner.address = boot, address
    return spawner


def test_the_engine_and_the_answer_each_have_their_own_limit(
    tmp_path: Path, slow_server: int
) -> None:
    # Booting takes longer than http_timeout and answering takes a while too: the whole
    # start is longer than either limit, yet within each, so the server is up.
    spawner = _booting(
        tmp_path,
        "late",
        boot=3.0,
        address=("127.0.0.1", slow_server),
        http_timeout=4,
        engine_start_timeout=5,
    )
    t0 = time.monotonic()
    asyncio.run(spawner.start())
    assert time.monotonic() - t0 > 4  # longer than http_timeout alone
    assert spawner.allocation is not None and spawner.allocation.state == "active"


def test_an_engine_slower_than_start_timeout_fails_naming_it_and_frees_the_slice(
    tmp_path: Path,
) -> None:
    spawner = _booting(
        tmp_path, "stuck", boot=30.0, address=("127.0.0.1", 1), engine_start_timeout=1
    )
    t0 = time.monotonic()
    with pytest.raises(web.HTTPError) as failed:
        asyncio.run(spawner.start())
    assert time.monotonic() - t0 < 5
    assert "not started within 1 seconds" in failed.value.log_message
    assert "start_timeout" in failed.value.log_message
    assert spawner.slice_context.ledger.holdings() == []


def test_starts_beyond_the_gate_wait_and_are_told_their_place(
    tmp_path: Path, slow_server: int
) -> None:
    from spawners.start_gate import StartGate

    ctx = inprocess.slice_context(tmp_path)
    gate = StartGate(1)
    spawners = [
        _booting(
            tmp_path,
            name,
            boot=0.5,
            address=("127.0.0.1", slow_server),
            slice_context=ctx,
            start_gate=gate,
            http_timeout=10,
        )
        for name in ("first", "second", "third")
    ]

    async def all_start() -> list[list[str]]:
        seen: list[list[str]] = [[] for _ in spawners]
        starts = [asyncio.create_task(s.start()) for s in spawners]

        async def watch(i: int) -> None:
            await asyncio.sleep(0)
            async for event in spawners[i].progress():
                seen[i].append(event["message"])

        await asyncio.gather(*starts, *(watch(i) for i in range(len(spawners))))
        return seen

    seen = asyncio.run(all_start())
    places = [[m for m in messages if "in line" in m] for messages in seen]
    # Whichever reached the gate first starts at once (the ledger's reservations run in
    # worker threads, so arrival order is not the order of the calls); the second waits
    # first in line, the third second in line and then first.
    assert sorted(len(p) for p in places) == [0, 1, 2], places
    second, third = sorted((p for p in places if p), key=len)
    assert second == ["waiting for a turn to start: number 1 in line, 1 starting now ..."]
    assert "number 2 in line" in third[0] and "number 1 in line" in third[1]
    assert all(s.allocation.state == "active" for s in spawners)
    assert gate.starting == 0 and gate.waiting == 0
