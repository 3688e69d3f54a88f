"""Local backend: the server is a process on the hub's machine (LocalProcessSpawner).

Two modes, chosen by whether the hub runs as root (hub_config decides, see
docs/security.md):
- ``system-users``: each hub user's server runs as their own unix account
  (``jupyter-<name>``, created on first spawn, home mode 0700), inside a cgroup of its own
  that enforces the slice's CPU and memory share and is emptied when the server stops.
- ``hub-user``: an unprivileged hub (a laptop) runs its one owner's server as itself."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from tornado import web
from traitlets import Bool, Dict, Enum, Integer, Unicode

from spawners.backends.cgroups import CgroupError, CgroupLimits, ServerCgroup, hub_group
from spawners.backends.mps import MpsClient
from spawners.backends.resources import NodeShape, host_share
from spawners.backends.unix_accounts import Account, AccountError, ensure_account
from spawners.core.accounts import DEFAULT_PREFIX
from spawners.ledger.records import AllocationRecord
from spawners.mixin import SliceSpawnerMixin
from spawners.processes import process_owners
from spawners.refusal_status import refused

SYSTEM_USERS = "system-users"
HUB_USER = "hub-user"


class LocalSliceSpawner(SliceSpawnerMixin, MpsClient, LocalProcessSpawner):
    run_as = Enum(
        [SYSTEM_USERS, HUB_USER],
        SYSTEM_USERS,
        config=True,
        help="""Whose unix account a server runs as. `system-users`: each hub user's own
        account (`<account_prefix><name>`, created on first spawn; needs root). `hub-user`:
        the hub's own account, for an unprivileged hub with one owner (hub_config admits
        only that owner in this mode).""",
    )

    account_prefix = Unicode(
        DEFAULT_PREFIX,
        config=True,
        help="""Prefix of every unix account the hub creates, so that no login name can
        ever reach an existing system account.""",
    )

    homes_root = Unicode(
        "/home",
        config=True,
        help="""Folder holding the users' homes (`<homes_root>/<account>`, mode 0700). Must
        not be inside the hub's data folder, which no server may read.""",
    )

    use_cgroups = Bool(
        True,
        config=True,
        help="""Run each server in a cgroup of its own (cgroup v1 pids, freezer, memory
        and cpu hierarchies, under the hub's own cgroup): the slice's CPU and memory share
        is enforced on it, and stopping the server kills every process in it. The slice
        goes back to the pool only once the cgroup is empty.""",
    )

    hub_id = Unicode(
        "",
        config=True,
        help="""Names this hub's cgroups (`sandbox-<hub_id>/alloc-<id>`), so that two hubs on
        one machine never touch each other's servers.""",
    )

    node_shape = Dict(
        config=True,
        help="""CPUs and memory per GPU and for cpu servers (`hub.backend.host_share`),
        which become the server cgroup's CPU quota and memory limit.""",
    )

    max_pids = Integer(
        4096,
        config=True,
        help="""Most processes and threads one server may have at once (the cgroup's
        pids.max): a fork bomb stays inside its own server.""",
    )

    _account: Account | None = None

    # --- what the engine needs before the process starts -----------------------------

    async def before_engine_start(self, record: AllocationRecord) -> None:
        loop = asyncio.get_running_loop()
        if self.run_as == SYSTEM_USERS:
            try:
                self._account = await loop.run_in_executor(
                    None, ensure_account, self.user.name, self.account_prefix, Path(self.homes_root)
                )
            except AccountError as e:
                raise refused(e) from None
        else:
            Path(self._home()).mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.use_cgroups:
            share = host_share(record.slice_name, NodeShape.from_site(self.node_shape))
            limits = CgroupLimits(
                cpu_millis=share.cpu_millis, memory_bytes=share.memory_bytes, max_pids=self.max_pids
            )
            cgroup = self._cgroup(record)
            try:
                await loop.run_in_executor(None, cgroup.create, limits)
            except (OSError, CgroupError) as e:
                self.log.error("cgroup for %s: %s", self._log_name, e)
                raise web.HTTPError(
                    500, "The hub could not set up your server's resource limits."
                ) from None

    def _cgroup(self, record: AllocationRecord) -> ServerCgroup:
        return ServerCgroup(hub_group(self.hub_id or "hub", record.id))

    def _home(self) -> str:
        if self._account is not None:
            return str(self._account.home)
        return str(Path(self.homes_root).resolve() / self.user.name)

    def make_preexec_fn(self, name: str):
        cgroup = self._cgroup(self.allocation) if self.use_cgroups and self.allocation else None
        home = self._home()
        become = set_user_setuid(self._account.name, chdir=False) if self._account else None

        def preexec() -> None:
            if cgroup is not None:
                # Joined while still root: the user can never move out of the group.
                cgroup.join()
            if become is not None:
                become()
            os.chdir(home)

        return preexec

    def slice_env(self, record: AllocationRecord) -> dict[str, str]:
        # An MPS share talks to its GPU's MPS daemon on this machine (gpus.mps).
        return {**super().slice_env(record), **self.mps_environment(record)}

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        env["USER"] = self._account.name if self._account else self.user.name
        env["HOME"] = self._home()
        env["SHELL"] = "/bin/bash"
        return env

    def get_args(self) -> list[str]:
        args = super().get_args()
        args.append(f"--ServerApp.root_dir={self._home()}")
        return args

    def move_certs(self, paths):
        # Internal TLS is not used by this hub; the upstream version assumes pw_dir.
        return paths

    def engine_reference(self) -> str | None:
        if not self.pid:
            return None
        ref = f"pid:{self.pid}"
        if self.use_cgroups and self.allocation is not None:
            ref += f";cgroup:{self._cgroup(self.allocation).group}"
        return ref

    # --- stopping: nothing of the server may outlive it --------------------------------

    async def engine_leftovers(self, record: AllocationRecord) -> list[str]:
        left = await super().engine_leftovers(record)
        if not self.use_cgroups:
            return left
        cgroup = self._cgroup(record)
        return left + await asyncio.get_running_loop().run_in_executor(None, empty_cgroup, cgroup)


def empty_cgroup(cgroup: ServerCgroup) -> list[str]:
    """Kill what is left in a server's cgroup; the processes that would not die."""
    left = cgroup.kill_all()
    if not left:
        cgroup.remove()
    return process_owners(left)


def parse_engine_ref(ref: str | None) -> tuple[int | None, str | None]:
    """(pid, cgroup name) from ``pid:<n>[;cgroup:<name>]``."""
    pid = group = None
    for part in (ref or "").split(";"):
        key, _, value = part.partition(":")
        if key == "pid" and value.isdigit():
            pid = int(value)
        elif key == "cgroup" and value:
            group = value
    return pid, group


def local_server_running(record: AllocationRecord) -> bool | None:
    """Reconciliation probe: is the server of this allocation still a live process?

    The pid alone could have been reused after a reboot, so when /proc lets us read the
    process environment we also require its SANDBOX_ALLOCATION_ID to match. A
    quarantined allocation runs as long as anything is left in its cgroup."""
    pid, group = parse_engine_ref(record.engine_ref)
    if record.state == "quarantined":
        return bool(group and _cgroup_pids(group))
    if pid is None:
        return None if record.state == "reserved" else False
    return _is_allocation_process(pid, record.id)


def _cgroup_pids(group: str) -> set[int]:
    try:
        return ServerCgroup(group).pids()
    except (OSError, CgroupError):
        return set()


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
    """Stop the processes of a spawn that the hub abandoned when it died mid-start."""
    pid, group = parse_engine_ref(record.engine_ref)
    if group:
        with contextlib.suppress(OSError, CgroupError):
            empty_cgroup(ServerCgroup(group))
    if pid is None or not _is_allocation_process(pid, record.id):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)
