"""A private, throw-away PostgreSQL server for tests.

``postgresql_url`` (session-scoped) starts one server from Debian's installed binaries
(``/usr/lib/postgresql/<version>/bin``; ``SANDBOX_PG_BIN`` names another folder) with
its own data folder, its own free TCP port on 127.0.0.1 and its own unix socket folder,
all under one temporary folder. PostgreSQL refuses to run as root, so when the tests run
as root the server runs as the ``postgres`` unix user (``SANDBOX_PG_USER`` names
another). It waits for readiness with a deadline (``pg_ctl -w`` then ``pg_isready`` and a
real connection), creates a database, yields a ``postgresql+psycopg://`` URL and always
stops the server and removes its folder, whatever happened in between.

Where PostgreSQL is not installed the fixture skips with the reason; under CI
(``CI=true``) it fails instead, so a CI image that lost its database cannot go green
by skipping the PostgreSQL half of the ledger contract.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.requirements import missing

DEFAULT_DATABASE = "sandbox_test"
START_DEADLINE_S = 60.0
BIND_ATTEMPTS = 3
POLL_INTERVAL_S = 0.1


class PostgresUnavailable(RuntimeError):
    """PostgreSQL (or a user it may run as) is not installed here."""


class PostgresStartError(RuntimeError):
    """PostgreSQL is installed but the private server did not come up."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.parent.name)) or (0,)


def find_bin_dir() -> Path:
    """The folder holding initdb, pg_ctl and pg_isready; PostgresUnavailable if none."""
    wanted = ("initdb", "pg_ctl", "pg_isready")
    candidates: list[Path] = []
    if os.environ.get("SANDBOX_PG_BIN"):
        candidates.append(Path(os.environ["SANDBOX_PG_BIN"]))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in wanted):
            return folder
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl, pg_isready) not found in "
        "/usr/lib/postgresql/*/bin, SANDBOX_PG_BIN or PATH; install the Debian package "
        "'postgresql' to run the PostgreSQL half of the ledger contract"
    )


def _server_account() -> pwd.struct_passwd | None:
    """None: run as ourselves. As root: an unprivileged account PostgreSQL accepts."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("SANDBOX_PG_USER", "postgres")
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root and there is no unix user {name!r} to run PostgreSQL as "
            "(PostgreSQL refuses root); create one or set SANDBOX_PG_USER"
        ) from None
    if account.pw_uid == 0:
        raise PostgresUnavailable(f"unix user {name!r} is root; PostgreSQL refuses root")
    return account


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """One private server. Use ``start()`` / ``stop()``, or ``running()``."""

    bin_dir: Path
    account: pwd.struct_passwd | None
    base: Path = field(init=False)
    port: int = field(init=False, default=0)
    user: str = field(init=False, default="sandbox")

    def __post_init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="sandbox-pg-"))
        if self.account is not None:
            os.chown(self.base, self.account.pw_uid, self.account.pw_gid)

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base / "sock"

    @property
    def log_file(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str = DEFAULT_DATABASE) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "LANG": "C"}
        kwargs: dict = {}
        if self.account is not None:
            env["HOME"] = str(self.base)
            kwargs = {
                "user": self.account.pw_uid,
                "group": self.account.pw_gid,
                "extra_groups": [],
            }
        return subprocess.run(
            cmd,
            cwd=self.base,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def start(self) -> None:
        self._mkdir(self.socket_dir)
        done = self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "--username",
            self.user,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        if done.returncode != 0:
            raise PostgresStartError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        for _attempt in range(BIND_ATTEMPTS):
            self.port = _free_port()
            self._write_config()
            done = self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(int(START_DEADLINE_S)),
                "start",
                timeout=START_DEADLINE_S + 10,
            )
            if done.returncode == 0:
                break
            # Another process took the port between probing and binding: try another.
            if "could not bind" not in self._log_tail(50).lower():
                raise PostgresStartError(
                    f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{self._log_tail()}"
                )
        else:
            raise PostgresStartError(f"no free port after {BIND_ATTEMPTS} attempts")
        self._wait_ready()
        self._create_database(DEFAULT_DATABASE)

    def _mkdir(self, path: Path) -> None:
        path.mkdir(mode=0o700)
        if self.account is not None:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def _write_config(self) -> None:
        # A later line wins in postgresql.conf, so a retry with another port just appends.
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": "100",
            # Throw-away data: durability only costs time here.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# sandbox test server\n")
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_DEADLINE_S
        last = ""
        while time.monotonic() < deadline:
            ready = self._run(
                "pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "5", timeout=15
            )
            if ready.returncode == 0:
                try:
                    with psycopg.connect(self._conninfo("postgres"), connect_timeout=5):
                        return
                except psycopg.OperationalError as e:
                    last = str(e)
            else:
                last = ready.stdout + ready.stderr
            # A poll interval under a deadline, not a guess at how long start-up takes:
            # pg_ctl -w has normally waited already and the first poll succeeds.
            time.sleep(POLL_INTERVAL_S)
        raise PostgresStartError(f"server not ready in {START_DEADLINE_S:.0f} s: {last}")

    def _conninfo(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={database}"

    def _create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        """Stop the server (fast, then immediate) and remove every file. Never raises."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                done = self._run(
                    "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop"
                )
                if done.returncode != 0:
                    self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "stop")
        except (OSError, subprocess.SubprocessError):
            pass
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    @classmethod
    @contextlib.contextmanager
    def running(cls) -> Iterator[PostgresServer]:
        """A started server, stopped on exit. PostgresUnavailable if not installed."""
        server = cls(find_bin_dir(), _server_account())
        try:
            server.start()
            yield server
        finally:
            server.stop()


def unavailable(reason: str) -> None:
    """Skip (on a developer's machine) or fail (in CI) for a missing PostgreSQL."""
    missing(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    """SQLAlchemy URL of a database on a private PostgreSQL server for this session."""
    reason = None
    try:
        import psycopg  # noqa: F401

        bin_dir, account = find_bin_dir(), _server_account()
    except ImportError:
        reason = "the psycopg (3) driver is not installed in this environment"
    except PostgresUnavailable as e:
        reason = str(e)
    if reason is not None:
        unavailable(reason)
    server = PostgresServer(bin_dir, account)
    try:
        server.start()
        yield server.url()
    finally:
        server.stop()
