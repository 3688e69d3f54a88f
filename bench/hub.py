"""A real JupyterHub (with its real proxy) started for a benchmark, and a tiny REST
client. Every wait is bounded by a deadline, and stop() always leaves nothing behind:
it first stops every server through the REST API (our hub's graceful stop leaves servers
running, as a restart must), then stops the hub, and only then kills by pid whatever this
hub started that is still alive."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
POLL_S = 0.02
"""Poll interval while waiting for the hub's answer to change (not a fixed sleep)."""
STOP_SERVERS_S = 120.0
"""How long stop() waits for the hub to stop its servers before it stops the hub."""


class HubError(RuntimeError):
    pass


def free_port_block(size: int, avoid: range = range(0), low: int = 20000, high: int = 60000) -> int:
    """A port P with P..P+size-1 all free now and outside ``avoid`` (our hub's internal
    ports follow P). The search starts at a pid-dependent place and wraps around, so two
    benchmark runs at once rarely probe the same ports."""
    blocks = range(low, high - size, size + 1)
    first = os.getpid() % len(blocks)
    for port in (blocks[(first + i) % len(blocks)] for i in range(len(blocks))):
        ports = range(port, port + size)
        if any(p in avoid for p in ports):
            continue
        if all(_port_free(p) for p in ports):
            return port
    raise HubError("no free block of ports")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Hub:
    """``jupyterhub -f config`` in its own process group; the API through the proxy."""

    def __init__(
        self, name: str, config: Path, port: int, token: str, env: Mapping[str, str], data: Path
    ):
        self.name, self.config, self.port, self.token, self.data = name, config, port, token, data
        self.hub_api_port = port + 2
        self.marker = f"BENCH_HUB_RUN={uuid.uuid4().hex}"
        key, value = self.marker.split("=")
        path = os.pathsep.join(
            [str(REPO / "node_modules" / ".bin"), str(VENV_BIN), os.environ.get("PATH", "")]
        )
        self.env = {**os.environ, "PATH": path, **env, key: value}
        self.log_path = data / f"{name}.log"
        self.proc: subprocess.Popen | None = None
        self.internal_host = "127.0.0.1"
        """The address servers reach this hub's API at (``hub.internal_url``'s host, or
        the stock hub's ``hub_connect_url``), which their environment names."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hub/api"

    def start(self, timeout: float = 120.0) -> None:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [str(VENV_BIN / "jupyterhub"), "-f", str(self.config)],
                cwd=self.data,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HubError(
                    f"{self.name} hub exited ({self.proc.returncode}):\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError, HubError):
                if self.request("GET", "/")[0] == 200:
                    return
            time.sleep(POLL_S)
        raise HubError(f"{self.name} hub did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        """The end of the hub's log (it lives in a temp dir that the run removes)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def request(
        self, method: str, path: str, body: Any = None, api: bool = True
    ) -> tuple[int, Any]:
        """A call to the hub API (``api``) or, with ``api=False``, to a path under the
        public URL (a service's)."""
        data = None if body is None else json.dumps(body).encode()
        base = self.url if api else self.url.removesuffix("/hub/api")
        req = urllib.request.Request(base + path, data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            with contextlib.suppress(ValueError):
                return e.code, json.loads(raw) if raw else None
            return e.code, raw.decode(errors="replace")
        except urllib.error.URLError as e:
            raise HubError(str(e)) from e

    def stop(self, timeout: float = 30.0) -> list[int]:
        """Stop every server through the REST API (``stop_servers``), then SIGTERM the
        hub (it stops its proxy and services), then make sure: anything still alive that
        this hub started is killed by pid. Returns those pids (none after a clean stop)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop_servers()
            except (HubError, OSError) as e:  # a hub that no longer answers: kill below
                print(f"{self.name}: servers not stopped through the API: {e}", flush=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        left = self._leftovers()
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return left

    def stop_servers(self, timeout: float = STOP_SERVERS_S) -> list[str]:
        """DELETE every server the hub lists as active (named ones too, pending starts
        interrupted) and wait until it lists none: each server stops the way its spawner
        stops it (SIGTERM and its own grace, ``scancel``, ``docker stop``), never killed
        by pid. Returns the servers it stopped, as ``user/name``; HubError when the hub
        does not answer or the servers are not gone within ``timeout``."""
        stopped: list[str] = []
        deadline = time.monotonic() + timeout
        for user, name in self._active_servers():
            path = f"/users/{urllib.parse.quote(user, safe='')}/server"
            if name:
                path += f"s/{urllib.parse.quote(name, safe='')}"
            status, answer = self.request("DELETE", path)
            if status not in (202, 204, 404):
                raise HubError(f"{self.name}: stop {user}/{name} -> {status} {answer}")
            stopped.append(f"{user}/{name}")
        while left := self._active_servers():
            if time.monotonic() > deadline:
                raise HubError(f"{self.name}: servers still running after {timeout:.0f}s: {left}")
            time.sleep(max(POLL_S, 0.1))
        return stopped

    def _active_servers(self) -> list[tuple[str, str]]:
        """(user, server name) of every server the hub has a record of, page by page."""
        servers: list[tuple[str, str]] = []
        offset = 0
        while True:
            status, users = self.request("GET", f"/users?state=active&offset={offset}&limit=200")
            if status != 200 or not isinstance(users, list):
                raise HubError(f"{self.name}: list active users -> {status} {users}")
            for user in users:
                servers += [(user["name"], name) for name in user.get("servers") or {}]
            if len(users) < 200:
                return servers
            offset += len(users)

    def _leftovers(self) -> list[int]:
        # The proxy and services inherit the hub's environment (our marker); single-user
        # servers get a clean one that names this hub's API (at its internal address).
        api = f"JUPYTERHUB_API_URL=http://{self.internal_host}:{self.hub_api_port}/hub/api"
        api = api.encode()
        marker = self.marker.encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker in environ or api in environ:
                pids.append(int(entry.name))
        return pids


def ours_hub(tmp: Path, **env: str) -> Hub:
    """Our hub (hub_config/jupyterhub_config.py) on its own ports and data folder."""
    data = tmp / "ours"
    data.mkdir()
    port = free_port_block(4)
    token = secrets.token_hex(32)
    env = {
        "SANDBOX_PORT": str(port),
        "SANDBOX_DATA": str(data),
        "SANDBOX_ADMIN_TOKEN": token,
        **env,
    }
    return Hub("ours", REPO / "hub_config" / "jupyterhub_config.py", port, token, env, data)


def stock_hub(
    tmp: Path, avoid: range, config: str = "stock_jupyterhub_config.py", **env: str
) -> Hub:
    """Stock JupyterHub (``bench/<config>``) beside it."""
    data = tmp / "stock"
    data.mkdir()
    port = free_port_block(3, avoid=avoid)
    token = secrets.token_hex(32)
    env = {
        "BENCH_PORT": str(port),
        "BENCH_DATA": str(data),
        "BENCH_TOKEN": token,
        "BENCH_PROXY_TOKEN": secrets.token_hex(32),
        **env,
    }
    return Hub("stock", Path(__file__).with_name(config), port, token, env, data)
