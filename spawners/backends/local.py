"""Local backend: the server is a process on the hub's machine (LocalProcessSpawner).

Two modes. As the hub's own unix user (the embedded default, a laptop): every user's
home is a folder under the data directory and nobody switches uid. With real unix
users: LocalProcessSpawner's setuid path, one account per hub user."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Bool, Unicode

from spawners.ledger.records import AllocationRecord
from spawners.mixin import SliceSpawnerMixin


class LocalSliceSpawner(SliceSpawnerMixin, LocalProcessSpawner):
    run_as_hub_user = Bool(
        True,
        config=True,
        help="""Run every server as the hub's own unix user, with a home folder per user
        under `homes_root`. Right for one person's machine; with several people on a
        shared node set it to False so each server runs as that user's unix account.""",
    )

    homes_root = Unicode(
        ".sandbox/homes",
        config=True,
        help="""Where per-user home folders live when `run_as_hub_user` is True. The hub
        creates <homes_root>/<username> (mode 0700) on first start.""",
    )

    def _home(self) -> str:
        return str(Path(self.homes_root).resolve() / self.user.name)

    def make_preexec_fn(self, name: str):
        if not self.run_as_hub_user:
            return super().make_preexec_fn(name)
        home = self._home()

        def preexec() -> None:
            os.makedirs(home, mode=0o700, exist_ok=True)
            os.chdir(home)

        return preexec

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        if not self.run_as_hub_user:
            return super().user_env(env)
        env["USER"] = self.user.name
        env["HOME"] = self._home()
        env["SHELL"] = "/bin/bash"
        return env

    def get_args(self) -> list[str]:
        args = super().get_args()
        if self.run_as_hub_user and os.getuid() == 0:
            # jupyter-server refuses root without this; here root is the hub's own user.
            args.append("--allow-root")
        if self.run_as_hub_user:
            args.append(f"--ServerApp.root_dir={self._home()}")
        return args

    def move_certs(self, paths):
        return paths if self.run_as_hub_user else super().move_certs(paths)

    def engine_reference(self) -> str | None:
        return f"pid:{self.pid}" if self.pid else None


def local_server_running(record: AllocationRecord) -> bool | None:
    """Reconciliation probe: is the server of this allocation still a live process?

    The pid alone could have been reused after a reboot, so when /proc lets us read the
    process environment we also require its SANDBOX_ALLOCATION_ID to match."""
    ref = record.engine_ref or ""
    if not ref.startswith("pid:"):
        return None if record.state == "reserved" else False
    return _is_allocation_process(int(ref[4:]), record.id)


def _is_allocation_process(pid: int, allocation_id: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        # A zombie still answers kill(0) but runs nothing.
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except (OSError, IndexError):
        return True
    return f"SANDBOX_ALLOCATION_ID={allocation_id}".encode() in environ


def stop_abandoned_local_server(record: AllocationRecord) -> None:
    """Stop the process of a spawn that the hub abandoned when it died mid-start."""
    ref = record.engine_ref or ""
    if not ref.startswith("pid:"):
        return
    pid = int(ref[4:])
    if not _is_allocation_process(pid, record.id):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)
