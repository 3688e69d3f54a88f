"""A cgroup per local server: every process a user starts stays inside it, the slice's
CPU and memory share of the host is enforced on it, and a stop kills all of it.

The hosts this runs on have no systemd as PID 1 and cgroup v1 (``pids``, ``freezer``,
``memory``, ``cpu`` hierarchies), so the hub manages the groups itself through cgroupfs:
one folder per server in each hierarchy, under the hub's own cgroup
(``<hub's cgroup>/sandbox-<hub id>/alloc-<allocation id>``). Where systemd runs the hub, its
unit needs ``Delegate=yes`` so the hub may manage the groups below its own.

No maintained Python library drives cgroup v1 (cgroupspy and friends are unmaintained),
and the few files written here are the kernel's documented interface, so this module
writes them directly."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("pids", "freezer", "memory", "cpu")
"""Hierarchies used: pids (listing and a fork limit), freezer (a kill that no fork can
outrun), memory and cpu (the slice's share of the host)."""
CFS_PERIOD_US = 100_000
SHARES_PER_CPU = 1024
"""cgroup v1's CPU weight of one busy process at nice 0 (``cpu.shares``). A server gets
this per CPU of its slice, and the hub's group of servers this per CPU core of the host,
as Kubernetes weighs a pod by its CPU request and its pods' group (``kubepods``) by the
node's cores. Left at the kernel's default, all of a hub's servers together would weigh
as much as any one process outside the group: a class's servers would boot at a third
of the machine beside the hub and two busy processes."""


class CgroupError(RuntimeError):
    """A cgroup could not be created, joined or emptied."""


@dataclass(frozen=True)
class CgroupLimits:
    """What one server may use of the host."""

    cpu_millis: int | None = None
    memory_bytes: int | None = None
    max_pids: int | None = None


def own_cgroups(proc_self: Path = Path("/proc/self/cgroup")) -> dict[str, str]:
    """This process's cgroup path in each v1 hierarchy (``{"memory": "/a/b", ...}``)."""
    paths: dict[str, str] = {}
    for line in proc_self.read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            if controller:
                paths[controller] = path
    return paths


def cgroups_available(root: Path = CGROUP_ROOT) -> str | None:
    """None when per-server cgroups can be managed here, else why not."""
    if os.geteuid() != 0:
        return "the hub does not run as root"
    try:
        own = own_cgroups()
    except OSError as e:
        return f"cannot read /proc/self/cgroup ({e.strerror})"
    for controller in CONTROLLERS:
        base = root / controller / own.get(controller, "/").lstrip("/")
        if not (base / "cgroup.procs").exists():
            return f"the cgroup v1 {controller} hierarchy is not mounted at {root / controller}"
        if not os.access(base, os.W_OK):
            return f"{base} is not writable"
    return None


class ServerCgroup:
    """The cgroup of one server, in every hierarchy of CONTROLLERS."""

    def __init__(
        self, group: str, root: Path = CGROUP_ROOT, base: dict[str, str] | None = None
    ) -> None:
        if not group or group.startswith("/") or ".." in group.split("/"):
            raise CgroupError(f"not a relative cgroup name: {group!r}")
        self.group = group
        base = own_cgroups() if base is None else base
        self.paths = {c: root / c / base.get(c, "/").lstrip("/") / group for c in CONTROLLERS}

    # --- life cycle -------------------------------------------------------------

    def create(self, limits: CgroupLimits) -> None:
        for path in self.paths.values():
            path.mkdir(parents=True, exist_ok=True)
        # A group left by a crashed hub may still be frozen.
        self._write("freezer", "freezer.state", "THAWED")
        host_shares = SHARES_PER_CPU * (os.cpu_count() or 1)
        (self.paths["cpu"].parent / "cpu.shares").write_text(str(host_shares))
        if limits.cpu_millis is not None:
            self._write("cpu", "cpu.cfs_period_us", str(CFS_PERIOD_US))
            quota = max(1000, limits.cpu_millis * CFS_PERIOD_US // 1000)
            self._write("cpu", "cpu.cfs_quota_us", str(quota))
            # The kernel's floor for a weight is 2.
            shares = max(2, limits.cpu_millis * SHARES_PER_CPU // 1000)
            self._write("cpu", "cpu.shares", str(shares))
        if limits.memory_bytes is not None:
            self._write("memory", "memory.limit_in_bytes", str(limits.memory_bytes))
            # Swap counts too where the kernel accounts it, so the limit cannot be dodged.
            with contextlib.suppress(OSError):
                self._write("memory", "memory.memsw.limit_in_bytes", str(limits.memory_bytes))
        if limits.max_pids is not None:
            self._write("pids", "pids.max", str(limits.max_pids))

    def join(self, pid: int = 0) -> None:
        """Move ``pid`` (0: the calling process) into every hierarchy of the group.

        Safe to call between fork and exec (a preexec_fn): plain writes, no allocation
        beyond what the interpreter already holds."""
        for path in self.paths.values():
            with open(path / "cgroup.procs", "w") as f:
                f.write(str(pid))

    def pids(self) -> set[int]:
        """Every process in the group (empty when the group does not exist)."""
        found: set[int] = set()
        for controller in ("pids", "freezer"):
            try:
                text = (self.paths[controller] / "cgroup.procs").read_text()
            except OSError:
                continue
            found.update(int(p) for p in text.split())
        return found

    def exists(self) -> bool:
        return any(p.exists() for p in self.paths.values())

    def kill_all(self, timeout: float = 10.0) -> set[int]:
        """SIGKILL every process of the group and wait for them to be gone.

        Frozen first, so that nothing can fork a new process between reading the list
        and the kill. Returns the processes still there after ``timeout`` (normally
        none: a process stuck in the kernel, e.g. on a hung device, can outlive it)."""
        deadline = time.monotonic() + timeout
        frozen = self._freeze(deadline)
        try:
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        finally:
            if frozen:
                self._write("freezer", "freezer.state", "THAWED")
        while True:
            left = self.pids()
            if not left or time.monotonic() > deadline:
                return left
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)

    def remove(self) -> None:
        """Remove the (empty) group; a group with processes left stays. The hub's group
        above it goes with its last server (busy while any other server has one), so
        hubs that come and go leave no folders behind; the next create makes it again."""
        for path in self.paths.values():
            with contextlib.suppress(FileNotFoundError):
                path.rmdir()
            if "/" in self.group:
                with contextlib.suppress(OSError):
                    path.parent.rmdir()

    # --- helpers ----------------------------------------------------------------

    def _freeze(self, deadline: float) -> bool:
        try:
            self._write("freezer", "freezer.state", "FROZEN")
        except OSError:
            return False
        while time.monotonic() < deadline:
            try:
                state = (self.paths["freezer"] / "freezer.state").read_text().strip()
            except OSError:
                return False
            if state == "FROZEN":
                return True
            time.sleep(0.01)
        return True

    def _write(self, controller: str, name: str, value: str) -> None:
        (self.paths[controller] / name).write_text(value)


def hub_group(hub_id: str, allocation_id: int) -> str:
    """The cgroup name of one server of one hub (stable across hub restarts)."""
    return f"sandbox-{hub_id}/alloc-{allocation_id}"
