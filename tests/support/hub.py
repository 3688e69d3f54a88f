"""A real JupyterHub (with the real proxy and the slices service) for tests.

Each hub gets its own free ports and data folder, is waited on through its API (never
a fixed sleep), and is always stopped, with every process it started."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
CONFIG = REPO / "hub_config" / "jupyterhub_config.py"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def fixed_port_range() -> range:
    """Ports a test may pick for a server: below the kernel's ephemeral range, which any
    outgoing connection draws from (the hub's own, to its proxy, once took the hub's port
    in the moment before the hub bound it)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(10000, max(10000 + 1000, low))


def free_port_block(size: int = 4) -> int:
    """A port p such that p .. p+size-1 are all free (the hub uses four)."""
    ports = fixed_port_range()
    for _ in range(200):
        base = ports.start + secrets.randbelow(len(ports) - size)
        if all(_port_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no free block of ports")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


HUBS_STARTED = 0
"""Hubs started in this test process: tests/conftest.py checks that a test which started
one carries the ``integration`` marker (``make check`` runs without them)."""


class Hub:
    def __init__(
        self, data: Path, site: Path | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.data = data
        self.site = site
        self.port = free_port_block()
        self.token = secrets.token_hex(32)
        self.extra_env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log_path = data.parent / f"{data.name}-hub.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.homes = homes_for(data)

    def home(self, user: str) -> Path:
        """Where ``user``'s server keeps its home on this hub (its unix account's home
        when the hub runs as root, as it does in CI)."""
        if os.geteuid() != 0:
            return self.homes / user
        from spawners.core.accounts import account_name

        return self.homes / account_name(user)

    def make_home(self, user: str) -> Path:
        """``user``'s home, made now the way the hub makes it at their first spawn: as
        root, their unix account and its home (mode 0700) by the production code."""
        if os.geteuid() != 0:
            home = self.home(user)
            home.mkdir(parents=True, exist_ok=True, mode=0o700)
            return home
        from spawners.backends.unix_accounts import ensure_account
        from spawners.core.accounts import DEFAULT_PREFIX

        return ensure_account(user, DEFAULT_PREFIX, self.homes).home

    def write_home_file(self, user: str, relative: str, text: str) -> Path:
        """Write ``relative`` (and the folders to it) into ``user``'s home, owned by the
        user's account as if their server had written it (the home is made at need)."""
        home = self.make_home(user)
        path = home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if os.geteuid() == 0:
            owner = pwd.getpwnam(home.name)  # the account is named like its home
            inside = path.relative_to(home)
            for part in (inside, *inside.parents[:-1]):  # the file and its folders
                os.chown(home / part, owner.pw_uid, owner.pw_gid)
        return path

    def remove_homes(self) -> None:
        """Delete the users' homes (after the last hub on this data folder stopped)."""
        shutil.rmtree(self.homes, ignore_errors=True)

    # --- life cycle ------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "SANDBOX_PORT": str(self.port),
                "SANDBOX_DATA": str(self.data),
                "SANDBOX_ADMIN_TOKEN": self.token,
                "SANDBOX_HOMES": str(self.homes),
                "PATH": f"{REPO / 'node_modules' / '.bin'}:{VENV_BIN}:{env.get('PATH', '')}",
            }
        )
        if self.site is not None:
            env["SANDBOX_SITE"] = str(self.site)
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 60) -> Hub:
        global HUBS_STARTED
        HUBS_STARTED += 1
        log = open(self.log_path, "ab")  # noqa: SIM115  (kept open for the child's lifetime)
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "jupyterhub"), "-f", str(CONFIG)],
            env=self.env(),
            cwd=str(REPO),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._answers, timeout, "the hub API")
        wait_for(self._service_answers, timeout, "the slices service")
        return self

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"the hub exited with {self.proc.returncode}:\n{self.log_tail()}")
        try:
            return requests.get(f"{self.url}/hub/api", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _service_answers(self) -> bool:
        try:
            r = self.get("/services/slices/api/inventory", api=False)
        except requests.RequestException:
            return False
        return r.status_code == 200

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill_hub_only(self) -> None:
        """SIGKILL the hub process alone: the proxy and the servers keep running."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop every server through the hub (a stop of the hub itself leaves them
        running, as a restart must), then the hub (which stops its services and the
        proxy), then anything left over."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(requests.RequestException, AssertionError, TimeoutError):
                self.stop_all_servers()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for pid in leftover_processes(self.data, self.homes):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)

    def stop_all_servers(self, timeout: float = 60) -> None:
        """Ask the hub to stop every server of every user, and wait until it has."""

        def running() -> list[tuple[str, str]]:
            r = self.get("/users", params={"state": "active"})
            r.raise_for_status()
            return [(u["name"], name) for u in r.json() for name in u.get("servers", {})]

        for user, server_name in running():
            path = (
                f"/users/{user}/servers/{server_name}" if server_name else f"/users/{user}/server"
            )
            self.delete(path)
        wait_for(lambda: not running(), timeout, "every server to stop")

    # --- REST ------------------------------------------------------------------

    def request(self, method: str, path: str, api: bool = True, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        headers.setdefault("Authorization", f"token {self.token}")
        prefix = "/hub/api" if api else ""
        return requests.request(
            method, f"{self.url}{prefix}{path}", headers=headers, timeout=60, **kwargs
        )

    def get(self, path: str, api: bool = True, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, api=api, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def ensure_user(self, name: str) -> None:
        r = self.post(f"/users/{name}")
        assert r.status_code in (201, 409), r.text

    def user(self, name: str) -> dict:
        r = self.get(f"/users/{name}")
        r.raise_for_status()
        return r.json()

    def server(self, name: str, server_name: str = "") -> dict | None:
        return self.user(name)["servers"].get(server_name)

    def spawn(self, name: str, options: Any, server_name: str = "") -> requests.Response:
        self.ensure_user(name)
        path = f"/users/{name}/servers/{server_name}" if server_name else f"/users/{name}/server"
        return self.post(path, json=options)

    def wait_ready(self, name: str, server_name: str = "", timeout: float = 120) -> dict:
        def ready():
            s = self.server(name, server_name)
            if s is None:
                raise AssertionError(
                    f"{name}'s server went away while starting:\n{self.log_tail()}"
                )
            return s if s["ready"] else None

        return wait_for(ready, timeout, f"{name}'s server to be ready")

    def stop_server(self, name: str, server_name: str = "", timeout: float = 60) -> None:
        path = f"/users/{name}/servers/{server_name}" if server_name else f"/users/{name}/server"
        r = self.delete(path)
        assert r.status_code in (202, 204, 400), r.text
        wait_for(
            lambda: self.server(name, server_name) is None, timeout, f"{name}'s server to stop"
        )

    def allocations(self) -> list[dict]:
        r = self.get("/services/slices/api/allocations", api=False)
        r.raise_for_status()
        return r.json()["allocations"]

    def inventory(self) -> dict:
        r = self.get("/services/slices/api/inventory", api=False)
        r.raise_for_status()
        return r.json()

    def user_token(self, name: str, scopes: list[str] | None = None) -> str:
        body: dict = {"note": "test"}
        if scopes is not None:
            body["scopes"] = scopes
        r = self.post(f"/users/{name}/tokens", json=body)
        r.raise_for_status()
        return r.json()["token"]

    def live_record(self, user: str, server_name: str = ""):
        """The ledger's live allocation of this server, read from the hub's own ledger."""
        from spawners.ledger.ledger import Ledger

        ledger = Ledger(f"sqlite:///{self.data / 'ledger.sqlite'}")
        try:
            record = ledger.live_for(user, server_name)
        finally:
            ledger.dispose()
        assert record is not None, f"{user}/{server_name} holds no allocation"
        return record

    def server_pid(self, user: str, server_name: str = "") -> int:
        """The pid of a local server (from its allocation's engine reference)."""
        from spawners.backends.local import parse_engine_ref

        pid, _ = parse_engine_ref(self.live_record(user, server_name).engine_ref)
        assert pid is not None, f"{user}'s server has no pid"
        return pid

    def slice_from_inside(self, name: str, server_name: str = "") -> dict:
        """Ask the running server itself (its server extension) which slice it holds."""
        token = self.user_token(name)
        prefix = f"/user/{name}/{server_name}/" if server_name else f"/user/{name}/"
        r = requests.get(
            f"{self.url}{prefix}api/sandbox/slice",
            headers={"Authorization": f"token {token}"},
            timeout=30,
        )
        r.raise_for_status()
        return r.json()


def homes_for(data: Path) -> Path:
    """The users' homes of a test hub: outside its data folder (no server may read that)
    and in a folder the users' accounts can reach (pytest's own temp folders are 0700);
    the same for every hub started on one data folder."""
    if os.geteuid() != 0:
        return data / "homes"
    digest = hashlib.sha256(str(data.resolve()).encode()).hexdigest()[:12]
    homes = Path(tempfile.gettempdir()) / f"sandbox-homes-{digest}"
    homes.mkdir(mode=0o755, exist_ok=True)
    homes.chmod(0o755)
    return homes


def leftover_processes(data: Path, homes: Path | None = None) -> list[int]:
    """Processes started for this hub's data folder (servers, proxy, service)."""
    homes = homes or homes_for(data)
    markers = (f"SANDBOX_DATA={data}\0".encode(), f"={homes}/".encode())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if any(m in environ for m in markers):
            found.append(int(entry.name))
    return found


def write_site(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
