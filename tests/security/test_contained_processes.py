"""Processes a user starts stay in their server's cgroup: limited to the slice's share of
the host, killed with the server, and the slice is handed on only once nothing is left."""

from __future__ import annotations

import os
import secrets
import signal
from pathlib import Path

import pytest

from spawners.backends.cgroups import ServerCgroup
from spawners.backends.local import parse_engine_ref
from tests.integration.conftest import make_hub  # noqa: F401
from tests.support.hub import Hub, wait_for
from tests.support.kernel import Kernel
from tests.support.requirements import require_root

pytestmark = pytest.mark.integration

SITE = """
site: {name: Contained}
hub:
  start_timeout: 120
  http_timeout: 90
  backend:
    kind: local
    local: {cgroups: required}
    host_share: {cpu_slice_cpus: 0.2, cpu_slice_memory_gb: 0.5}
gpus: {source: simulated, simulated_count: 1}
"""


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _detach(kernel: Kernel) -> str:
    """A process that leaves its server's session and process group, as an attacker would."""
    marker = f"300.{secrets.randbelow(10**9)}"
    kernel.check(
        "import subprocess\n"
        f"subprocess.Popen(['setsid', 'sh', '-c', 'sleep {marker} & sleep {marker}'])\n"
    )
    wait_for(lambda: len(_processes_with(marker)) >= 2, 30, "the detached processes")
    return marker


def test_a_detached_process_dies_with_the_stopped_server(make_hub) -> None:  # noqa: F811
    require_root("per-server cgroups need root")
    hub: Hub = make_hub(SITE)
    assert hub.spawn("bob", {"image": "base", "slice": "7g.80gb"}).status_code in (201, 202)
    hub.wait_ready("bob")
    [held] = hub.allocations()
    kernel = Kernel(hub, "bob")
    marker = _detach(kernel)
    cgroup = ServerCgroup(parse_engine_ref(hub.live_record("bob").engine_ref)[1])
    assert set(_processes_with(marker)) <= cgroup.pids(), "detached, still in bob's cgroup"

    hub.stop_server("bob")
    assert _processes_with(marker) == [], "nothing bob started outlives his server"
    assert not cgroup.exists()
    assert not any(p.parent.exists() for p in cgroup.paths.values()), "the hub's group, empty"
    assert hub.allocations() == []

    # The next user gets that very device (a 7g.80gb has one place on the GPU), and
    # nothing of bob's runs on it.
    assert hub.spawn("alice", {"image": "base", "slice": "7g.80gb"}).status_code in (201, 202)
    hub.wait_ready("alice")
    [now] = hub.allocations()
    assert now["device_uuid"] == held["device_uuid"] and now["user"] == "alice"
    assert _processes_with(marker) == []


def test_a_crashed_server_takes_its_detached_processes_along(make_hub) -> None:  # noqa: F811
    require_root("per-server cgroups need root")
    hub: Hub = make_hub(SITE)
    assert hub.spawn("carol", {"image": "base", "slice": "cpu"}).status_code in (201, 202)
    hub.wait_ready("carol")
    marker = _detach(Kernel(hub, "carol"))
    pid, _group = parse_engine_ref(hub.live_record("carol").engine_ref)
    os.kill(pid, signal.SIGKILL)
    # The hub notices the exit at its next poll (poll_interval) and empties the cgroup.
    hub.request("GET", "/users/carol")  # a request makes the hub poll sooner
    wait_for(lambda: hub.allocations() == [], 90, "carol's slice to be given back")
    assert _processes_with(marker) == []


def test_the_cgroup_holds_a_server_to_its_share_of_the_host(make_hub) -> None:  # noqa: F811
    require_root("per-server cgroups need root")
    hub: Hub = make_hub(SITE)
    assert hub.spawn("dave", {"image": "base", "slice": "cpu"}).status_code in (201, 202)
    hub.wait_ready("dave")
    cgroup = ServerCgroup(parse_engine_ref(hub.live_record("dave").engine_ref)[1])
    assert int((cgroup.paths["memory"] / "memory.limit_in_bytes").read_text()) == 512 * 2**20
    quota = int((cgroup.paths["cpu"] / "cpu.cfs_quota_us").read_text())
    period = int((cgroup.paths["cpu"] / "cpu.cfs_period_us").read_text())
    assert quota / period == pytest.approx(0.2)
    # Weights: the server by its slice's CPUs, all of the hub's servers together by the
    # host's cores (not one process's weight, the kernel's default for a new group).
    assert int((cgroup.paths["cpu"] / "cpu.shares").read_text()) == 204
    host = int((cgroup.paths["cpu"].parent / "cpu.shares").read_text())
    assert host == 1024 * (os.cpu_count() or 1)

    kernel = Kernel(hub, "dave")
    # CPU: a busy loop is throttled to a fifth of a core.
    kernel.check("import time\nend = time.time() + 1.5\nwhile time.time() < end: pass\n")
    throttled = dict(
        line.split() for line in (cgroup.paths["cpu"] / "cpu.stat").read_text().splitlines()
    )
    assert int(throttled["nr_throttled"]) > 0
    # Memory: within the share works; taking more than the share fails in the kernel
    # (MemoryError or the OOM killer), on a machine with far more free memory than that.
    assert kernel.check("x = bytearray(64 * 2**20)\nprint('allocated')") == "allocated\n"
    result = kernel.run("y = bytearray(1024 * 2**20)\nprint('allocated')", timeout=120)
    assert "allocated" not in result.stdout and result.error is not None, result
