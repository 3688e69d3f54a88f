"""A queued start inside the spawner (SliceSpawnerMixin): it waits with its place in the
progress events, starts when a slice is given back on this hub, and leaves the queue when
it is stopped, even after its task was cancelled (as JupyterHub's DELETE does)."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyterhub.spawner import Spawner

from spawners.ledger.schema import LEFT, STARTED
from spawners.mixin import SliceSpawnerMixin
from tests.backends import inprocess


class Answering(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()


class Engine(Spawner):
    """Starts at once at the answering server's address; its process is gone once stopped
    or never started (as LocalProcessSpawner's poll says 0 without a pid)."""

    port = 0
    running = False

    async def start(self):
        self.running = True
        return ("127.0.0.1", self.port)

    async def stop(self, now: bool = False) -> None:
        self.running = False

    async def poll(self) -> int | None:
        return None if self.running else 0


class Queued(SliceSpawnerMixin, Engine):
    pass


def spawner(ctx, name: str, port: int) -> Queued:  # noqa: ANN001
    s = Queued(
        user=inprocess.user(name),
        hub=inprocess.hub(),
        slice_context=ctx,
        user_options={"image": "base", "slice": "7g.80gb"},
        queue_enabled=True,
        queue_check_every=0.2,
        http_timeout=10,
    )
    s.port = port
    return s


async def until(predicate, timeout: float = 20.0) -> None:  # noqa: ANN001
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


def messages(s: Queued) -> list[str]:
    return [e["message"] for e in s._progress_events]


def test_a_queued_start_waits_starts_when_freed_and_a_stopped_one_leaves(
    tmp_path: Path, server: int
) -> None:
    ctx = inprocess.slice_context(tmp_path)
    ledger = ctx.ledger

    async def scenario() -> None:
        holder, waiter, quitter = (spawner(ctx, n, server) for n in ("holder", "w", "q"))
        await holder.start()
        waiting = asyncio.ensure_future(waiter.start())
        await until(lambda: [e.user for e in ledger.queue()] == ["w"])
        leaving = asyncio.ensure_future(quitter.start())
        await until(lambda: any("queue position 2 of 2" in m for m in messages(quitter)))
        assert any(m.startswith("queue position 1 of") for m in messages(waiter))
        assert not waiting.done()

        # The user stops the second: JupyterHub cancels the start, then polls and stops.
        leaving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await leaving
        assert [e.user for e in ledger.queue()] == ["w", "q"]  # a cancel alone keeps it
        assert await quitter.poll() == 0  # no process: JupyterHub would not call stop()
        assert [e.user for e in ledger.queue()] == ["w"]

        # The holder stops: the waiter starts at once, on the same GPU.
        await holder.stop()
        await asyncio.wait_for(waiting, 10)
        assert waiter.allocation is not None and waiter.allocation.state == "active"
        assert ledger.queue() == []
        await waiter.stop()

    asyncio.run(scenario())
    with ledger.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT user, state FROM sandbox_queue").all()
    states = dict(rows)
    assert states == {"w": STARTED, "q": LEFT}
    assert ledger.live() == [] and ledger.claimed_slots() == []
