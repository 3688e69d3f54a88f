"""Stopping is as clean as starting (docs/operations.md): SIGTERM or Ctrl-C ends the hub,
its managed services and its proxy within 10 s, also when the hub was started the way a
shell's background job starts it (SIGINT ignored, which every child inherits), and never
restarts the proxy while it stops. A graceful stop leaves the users' servers running with
their slices held; the next start re-attaches them: reachable through the new proxy, the
kernel as it was, nothing booked twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from jupyterhub.proxy import ConfigurableHTTPProxy

from hub_config.startup import SandboxProxy, hub_is_stopping
from tests.support.hub import REPO, Hub, leftover_processes, wait_for, write_site
from tests.support.kernel import Kernel

from .conftest import TEAMS_SITE, TEST_SITE

pytestmark = pytest.mark.integration

STOP_BUDGET_S = 10.0

SERVICES = ("slices", "courses", "idle-culler", "quota")


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Start children as a shell's background job does: with SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def services(hub: Hub) -> dict[str, int]:
    """This hub's managed service processes, by service name."""
    data = f"SANDBOX_DATA={hub.data}\0".encode()
    found = {}
    for pid in leftover_processes(hub.data, hub.homes):
        environ = _environ(pid)
        for name in SERVICES:
            if data in environ and f"JUPYTERHUB_SERVICE_NAME={name}\0".encode() in environ:
                found[name] = pid
    return found


def catches(pid: int, *signals: signal.Signals) -> bool:
    """Whether the process has handlers for ``signals`` (its SigCgt mask)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = int(next(ln for ln in status.splitlines() if ln.startswith("SigCgt:")).split()[1], 16)
    return all(mask & (1 << (sig - 1)) for sig in signals)


def start_like_make_run(hub: Hub, timeout: float = 60) -> None:
    """Start the hub the way `make run` does (``python -m hub_config.run``, which execs
    JupyterHub with the project's configuration), with the test hub's environment."""
    log = open(hub.log_path, "ab")  # noqa: SIM115  (kept open for the child's lifetime)
    hub.proc = subprocess.Popen(
        [sys.executable, "-m", "hub_config.run"],
        env=hub.env(),
        cwd=str(REPO),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def serving() -> bool:
        if hub.proc.poll() is not None:
            raise AssertionError(f"make run's hub exited:\n{hub.log_tail()}")
        with contextlib.suppress(requests.RequestException):
            return hub.get("/services/slices/api/inventory", api=False).status_code == 200
        return False

    wait_for(serving, timeout, "make run's hub and its slices service")


def proxy_pid(hub: Hub) -> int:
    return int((hub.data / "proxy.pid").read_text().strip())


def server_processes(hub: Hub, *users: str) -> set[int]:
    """The users' server processes (and their kernels): everything with their home."""
    markers = [f"HOME={hub.home(user)}\0".encode() for user in users]
    return {
        pid
        for pid in leftover_processes(hub.data, hub.homes)
        if any(m in _environ(pid) for m in markers)
    }


def stop_and_time(hub: Hub, how: str, keep: set[int] = frozenset()) -> float:
    """Stop the hub as ``how`` says; seconds until the hub and everything it started but
    the processes in ``keep`` are gone."""
    assert hub.proc is not None
    started = time.monotonic()
    if how == "sigterm":
        hub.proc.send_signal(signal.SIGTERM)
    elif how == "ctrl-c":
        # Ctrl-C on `make run`: SIGINT to the terminal's foreground process group, here
        # the hub's (the proxy and the services run in sessions of their own, as
        # JupyterHub starts them).
        os.killpg(hub.proc.pid, signal.SIGINT)
    elif how == "control-group":
        # systemd's default KillMode: every process of the unit at once (the hub's
        # SIGTERM wins the race here by a hair, as it does there).
        proxy = proxy_pid(hub)
        hub.proc.send_signal(signal.SIGTERM)
        os.kill(proxy, signal.SIGTERM)
    hub.proc.wait(timeout=60)
    wait_for(
        lambda: not set(leftover_processes(hub.data, hub.homes)) - keep,
        60,
        "the hub's services and proxy to end",
        interval=0.05,
    )
    return time.monotonic() - started


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c", "control-group"])
def test_an_idle_hub_stops_with_its_services_and_proxy_within_10_s(
    tmp_path: Path, how: str
) -> None:
    hub = Hub(tmp_path / "hub", site=write_site(tmp_path / "site.yaml", TEAMS_SITE))
    try:
        with sigint_ignored():
            if how == "ctrl-c":
                start_like_make_run(hub)
            else:
                hub.start()
        # Every service is up and has its handlers, although it inherited SIGINT ignored.
        wait_for(
            lambda: (
                len(found := services(hub)) == len(SERVICES)
                and all(catches(pid, signal.SIGINT, signal.SIGTERM) for pid in found.values())
            ),
            60,
            f"the services {SERVICES} to be up",
        )
        seconds = stop_and_time(hub, how)
        print(f"{how}: the hub, its services and its proxy ended in {seconds:.1f} s")
        log = hub.log_path.read_text(errors="replace")
        assert seconds < STOP_BUDGET_S, f"{how}: {seconds:.1f} s\n{hub.log_tail()}"
        # One proxy for the whole run: none started again while the hub stopped.
        assert log.count("Starting proxy @") == 1, hub.log_tail()
        assert "Leaving single-user servers running" in log
    finally:
        hub.stop()
        hub.remove_homes()


def test_a_graceful_stop_keeps_running_servers_and_the_next_start_reattaches_them(
    tmp_path: Path,
) -> None:
    hub = Hub(tmp_path / "hub", site=write_site(tmp_path / "site.yaml", TEST_SITE))
    try:
        hub.start()
        assert hub.spawn("alice", {"image": "base", "slice": "1g.10gb"}).status_code in (201, 202)
        hub.wait_ready("alice")
        held = hub.live_record("alice")
        pid = hub.server_pid("alice")
        kernel = Kernel(hub, "alice")
        kernel.check("state = 'kept across the stop'")

        keep = server_processes(hub, "alice")
        assert pid in keep
        seconds = stop_and_time(hub, "sigterm", keep=keep)
        assert seconds < STOP_BUDGET_S, f"{seconds:.1f} s\n{hub.log_tail()}"
        # Her server still runs, and her slice is still hers in the ledger.
        os.kill(pid, 0)
        assert server_processes(hub, "alice") >= {pid}
        record = hub.live_record("alice")
        assert (record.id, record.slots, record.state) == (held.id, held.slots, "active")

        hub.start()
        # Re-attached: ready at once, reachable through the new proxy, the same slice...
        assert hub.server("alice")["ready"]
        inside = hub.slice_from_inside("alice")
        assert inside["environment"]["SANDBOX_SLICE"] == "1g.10gb"
        assert hub.server_pid("alice") == pid
        # ... and the same kernel, with what she had computed.
        assert kernel.check("print(state)").strip() == "kept across the stop"
        [allocation] = hub.allocations()
        assert allocation["id"] == held.id

        # Nothing is booked twice: another spawn gets other slots.
        assert hub.spawn("bob", {"image": "base", "slice": "1g.10gb"}).status_code in (201, 202)
        hub.wait_ready("bob")
        slots = [s for a in hub.allocations() for s in a["slots"]]
        assert len(slots) == len(set(slots)) == 2
        assert hub.inventory()["free"]["1g.10gb"] == 5
    finally:
        hub.stop()
        hub.remove_homes()


class JupyterHub:
    """Stands for jupyterhub.app.JupyterHub: its shutdown runs as one task of
    ``JupyterHub.shutdown_cancel_tasks`` (the qualified name the proxy looks for)."""

    def __init__(self) -> None:
        self.cleaned_up = asyncio.Event()

    async def shutdown_cancel_tasks(self) -> None:
        await self.cleaned_up.wait()


def test_the_proxy_is_not_restarted_once_the_hub_is_stopping(monkeypatch) -> None:
    checks = []

    async def check_running(self) -> None:  # JupyterHub's: restarts a proxy that exited
        checks.append(self)

    monkeypatch.setattr(ConfigurableHTTPProxy, "check_running", check_running)
    proxy = SandboxProxy.__new__(SandboxProxy)  # only check_running is exercised

    async def scenario() -> None:
        assert not hub_is_stopping()
        await proxy.check_running()  # a running hub: JupyterHub's own check
        hub = JupyterHub()
        stopping = asyncio.ensure_future(hub.shutdown_cancel_tasks())
        await asyncio.sleep(0)
        assert hub_is_stopping()
        await proxy.check_running()  # the hub is stopping: no check, no restart
        hub.cleaned_up.set()
        await stopping
        assert not hub_is_stopping()

    asyncio.run(scenario())
    assert checks == [proxy]
    # The stand-in's name is the real one's (a JupyterHub that renamed it fails here).
    from jupyterhub.app import JupyterHub as RealHub

    assert (
        RealHub.shutdown_cancel_tasks.__qualname__ == JupyterHub.shutdown_cancel_tasks.__qualname__
    )
