"""A process a user detaches from their server dies with the server, on Docker and on
Slurm, and the user is not root there.

The attack, from the user's own kernel (through the hub's proxy and the kernel
websocket): ``setsid sh -c "trap '' HUP INT TERM; exec sleep 300.<random> &"``, a
process in a session of its own, reparented away from the kernel and deaf to the
polite signals. The test runs as root on the host, where every engine's processes are
visible in /proc, and finds it there by its unique command line. Then the server is
stopped through the hub's API: the process must be gone within a bounded time, the slice
released, and the same device handed to a second user, with nothing of the first user's
left on the engine (container removed, job gone from squeue).

The engines are the backend suites' own session fixtures (tests/backends/engines.py):
one private dockerd with the test images, one private Slurm cluster with fake MIG gres.
The Docker test image has no kernel, so a thin image with ipykernel (the version the
hub's environment has) is built on top of it and served as the ``medical`` image."""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import pwd
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from spawners.ledger.ledger import Ledger
from tests.backends.docker_images import CA_BUNDLE, SERVER_TAG, containers
from tests.backends.engines import NV, stop_all_servers
from tests.support.dockerd import DockerDaemon
from tests.support.hub import Hub, wait_for
from tests.support.kernel import Kernel
from tests.support.requirements import missing
from tests.support.slurm import SlurmCluster

pytestmark = pytest.mark.integration

KERNEL_IMAGE = "medical"  # unmapped in the Docker test site: it runs sandbox/medical
GONE_WITHIN_S = 30.0

WHOAMI = """
import json, os
def attempt(path):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb") as f:
                f.read(1)
        return "read"
    except FileNotFoundError:
        return "absent"
    except OSError as e:
        return "denied (%s)" % type(e).__name__
status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)
print(json.dumps({
    "uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "cap_eff": int(status["CapEff"].strip(), 16), "pid": os.getpid(),
    "targets": {name: attempt(path) for name, path in json.loads(__TARGETS__).items()},
}))
"""

DETACH = """
import json, os, subprocess
out = subprocess.run(["setsid", "sh", "-c", __SCRIPT__], capture_output=True, text=True,
                     check=True, timeout=30).stdout
pid = int(out)
status = dict(l.split(":", 1) for l in open(f"/proc/{pid}/status").read().splitlines() if ":" in l)
print(json.dumps({"pid": pid, "ppid": int(status["PPid"]), "sid": os.getsid(pid),
                  "kernel_pid": os.getpid(), "kernel_sid": os.getsid(0)}))
"""


# --- processes as the host sees them ----------------------------------------------------


@dataclass(frozen=True)
class HostProcess:
    pid: int
    ppid: int
    uid: int
    sid: int
    nspid: tuple[int, ...]
    cgroups: dict[str, str]
    """cgroup v1 controller -> path (``freezer`` -> ``/slurm_node/uid_1001/job_7/...``)."""
    cmdline: bytes

    def describe(self) -> str:
        command = self.cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
        return (
            f"{command!r}: pid {self.pid} (pid {self.nspid[-1]} in its namespace), "
            f"ppid {self.ppid}, uid {self.uid}, session {self.sid}, "
            f"cgroups memory {self.cgroups.get('memory')!r} freezer {self.cgroups.get('freezer')!r}"
        )


def host_process(pid: int) -> HostProcess | None:
    """A live (not zombie) process as the host sees it; None if there is none."""
    base = Path("/proc") / str(pid)
    try:
        cmdline = (base / "cmdline").read_bytes()
        status = dict(
            line.split(":", 1) for line in (base / "status").read_text().splitlines() if ":" in line
        )
        stat = (base / "stat").read_text().rsplit(")", 1)[1].split()
        cgroups = {}
        for line in (base / "cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") or [""]:
                cgroups[controller] = path
    except (OSError, IndexError, ValueError):
        return None
    if not cmdline:
        return None
    return HostProcess(
        pid=pid,
        ppid=int(status["PPid"]),
        uid=int(status["Uid"].split()[0]),
        sid=int(stat[3]),
        nspid=tuple(int(p) for p in status.get("NSpid", str(pid)).split()),
        cgroups=cgroups,
        cmdline=cmdline,
    )


def host_processes() -> list[HostProcess]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (process := host_process(int(entry.name))) is not None:
            found.append(process)
    return found


def wait_until_none(find, timeout: float, what: str) -> None:  # noqa: ANN001
    """Poll until ``find()`` lists nothing; else fail naming what is still there."""
    try:
        wait_for(lambda: not find(), timeout, what)
    except TimeoutError:
        still = "; ".join(p.describe() for p in find())
        raise AssertionError(f"after {timeout:.0f}s, {what}, but still running: {still}") from None


class Detached:
    """The detached ``sleep 300.<random>`` one test starts, killed at teardown whatever
    happened (a process that outlived its server must not outlive the test too)."""

    def __init__(self) -> None:
        self.argv = ["sleep", f"300.{secrets.randbelow(10**6):06d}"]

    @property
    def script(self) -> str:
        return (
            f"trap '' HUP INT TERM; exec {' '.join(self.argv)} </dev/null >/dev/null 2>&1 & echo $!"
        )

    def start_in(self, kernel: Kernel) -> dict:
        code = DETACH.replace("__SCRIPT__", json.dumps(self.script))
        return json.loads(kernel.check(code))

    def running(self) -> list[HostProcess]:
        want = ("\0".join(self.argv) + "\0").encode()
        return [p for p in host_processes() if p.cmdline == want]

    def kill(self) -> None:
        for process in self.running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)


@pytest.fixture
def detached() -> Iterator[Detached]:
    d = Detached()
    yield d
    d.kill()


def _stop_and_assert_gone(hub: Hub, user: str, detached: Detached) -> None:
    """Stop through the hub's API; the detached process must die within GONE_WITHIN_S."""
    asked = time.monotonic()
    hub.stop_server(user)
    stopped = time.monotonic()
    wait_until_none(
        detached.running, GONE_WITHIN_S, f"{user}'s server stopped: the detached process dies"
    )
    print(
        f"evidence: {user}'s server stopped {stopped - asked:.1f}s after the DELETE, "
        f"the detached process gone {time.monotonic() - stopped:.1f}s after that"
    )


def _allocation_of(hub: Hub, user: str) -> dict:
    [allocation] = [a for a in hub.allocations() if a["user"] == user]
    return allocation


def _engine_ref(hub: Hub, allocation_id: int) -> str:
    ledger = Ledger(f"sqlite:///{hub.data / 'ledger.sqlite'}")
    try:
        return ledger.get(allocation_id).engine_ref or ""
    finally:
        ledger.dispose()


def _whoami(kernel: Kernel, hub: Hub) -> dict:
    targets = {
        "the hub's data folder": str(hub.data),
        "the ledger": str(hub.data / "ledger.sqlite"),
        "the hub's database": str(hub.data / "jupyterhub.sqlite"),
    }
    return json.loads(kernel.check(WHOAMI.replace("__TARGETS__", repr(json.dumps(targets)))))


# --- Docker -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kernel_image(docker_engine) -> str:  # noqa: F811
    """sandbox/medical: the test server image plus ipykernel, so a real kernel runs, and
    ending as root, so that the uid the server gets is the spawner's doing."""
    daemon: DockerDaemon = docker_engine[0]
    version = importlib.metadata.version("ipykernel")
    with tempfile.TemporaryDirectory() as context:
        shutil.copy(CA_BUNDLE, Path(context) / "ca.crt")
        (Path(context) / "Dockerfile").write_text(
            f"FROM {SERVER_TAG}\nUSER 0\nCOPY ca.crt /tmp/ca.crt\n"
            "RUN PIP_CERT=/tmp/ca.crt /opt/sandbox/venv/bin/pip install --no-cache-dir "
            f"ipykernel=={version} && rm /tmp/ca.crt\n"
            # Left as root on purpose: uid 1000 in the container must come from the
            # spawner, whatever the image's last USER says.
            "USER 0\n"
        )
        daemon.docker(
            "build", "--network", "host", "-t", f"sandbox/{KERNEL_IMAGE}", context, timeout=900
        )
    return KERNEL_IMAGE


@pytest.fixture
def dhub(docker_hub: Hub, docker_engine, kernel_image: str) -> Iterator[Hub]:  # noqa: F811
    assert docker_hub.allocations() == [], "another test left a slice allocated"
    yield docker_hub
    stop_all_servers(docker_hub)


def _container_of(daemon: DockerDaemon, user: str) -> dict | None:
    found = [c for c in containers(daemon) if c["Name"] == f"/jupyter-{user}"]
    return found[0] if found else None


def test_docker_detached_process_dies_with_the_container(
    dhub: Hub,
    docker_engine,  # noqa: F811
    detached: Detached,
) -> None:
    hub, daemon = dhub, docker_engine[0]
    first, second = "dtchdocker1", "dtchdocker2"
    free_before = hub.inventory()["free"]["1g.10gb"]
    r = hub.spawn(first, {"image": KERNEL_IMAGE, "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(first, timeout=60)
    allocation = _allocation_of(hub, first)
    device = allocation["device_uuid"]
    assert device.startswith("MIG-")
    container = _container_of(daemon, first)
    assert container is not None and container["State"]["Running"]
    server = host_process(container["State"]["Pid"])
    assert server is not None

    kernel = Kernel(hub, first)
    who = _whoami(kernel, hub)
    # Not root, in any sense the kernel can tell: uid, gid, groups, capabilities.
    assert who["uid"] == who["euid"] == 1000, who
    assert who["gid"] != 0 and 0 not in who["groups"], who
    assert who["cap_eff"] == 0, who
    # The hub's data folder (SANDBOX_DATA) is not mounted into the container.
    assert set(who["targets"].values()) == {"absent"}, who["targets"]
    # The host agrees: the container's first process runs as uid 1000 too.
    assert server.uid == 1000, server.describe()

    inside = detached.start_in(kernel)
    assert inside["sid"] != inside["kernel_sid"] and inside["ppid"] != inside["kernel_pid"]
    [process] = wait_for(detached.running, 10, "the detached process to show on the host")
    # The process the kernel started is the one the host sees, in the container's pid
    # namespace and cgroup, as uid 1000.
    assert process.nspid[-1] == inside["pid"] and len(process.nspid) > 1, process.describe()
    assert container["Id"] in process.cgroups["memory"], process.describe()
    assert process.uid == 1000, process.describe()
    print(f"evidence: container {container['Id'][:12]}: {process.describe()}; kernel: {inside}")

    _stop_and_assert_gone(hub, first, detached)
    wait_for(lambda: _container_of(daemon, first) is None, 30, "the container to be removed")
    wait_for(lambda: not any(a["user"] == first for a in hub.allocations()), 30, "the release")
    assert hub.inventory()["free"]["1g.10gb"] == free_before
    wait_until_none(
        lambda: [p for p in host_processes() if container["Id"] in p.cgroups.get("memory", "")],
        GONE_WITHIN_S,
        "the container is gone: nothing runs in its cgroup",
    )

    # The next user gets the very device, and a fresh container.
    r = hub.spawn(second, {"image": KERNEL_IMAGE, "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(second, timeout=60)
    assert _allocation_of(hub, second)["device_uuid"] == device
    successor = _container_of(daemon, second)
    assert successor is not None and successor["Id"] != container["Id"]
    assert not detached.running()


# --- Slurm ------------------------------------------------------------------------------


@pytest.fixture
def shub(slurm_hub: Hub, slurm_cluster: SlurmCluster) -> Iterator[Hub]:  # noqa: F811
    assert slurm_hub.allocations() == [], "another test left a slice allocated"
    yield slurm_hub
    stop_all_servers(slurm_hub)
    slurm_cluster.cancel_all()


def test_slurm_detached_process_dies_with_the_job(
    shub: Hub,
    slurm_cluster: SlurmCluster,  # noqa: F811
    detached: Detached,
) -> None:
    hub, cluster = shub, slurm_cluster
    if cluster.proctrack != "proctrack/cgroup":
        # proctrack/linuxproc follows parent pids: a daemonized process escapes it by
        # design. Production (ansible/roles/slurm) runs proctrack/cgroup; so must this.
        missing("a writable cgroup v1 freezer hierarchy (Slurm's proctrack/cgroup)")
    first, second = "sbxslurm1", "sbxslurm2"  # unix accounts the slurm fixture created
    account = pwd.getpwnam(first)
    r = hub.spawn(first, {"image": "base", "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(first, timeout=90)
    allocation = _allocation_of(hub, first)
    device = allocation["device_uuid"]
    assert device.startswith(f"slurm:{cluster.node}:gpu:{NV}1g.10gb:")
    ref = _engine_ref(hub, allocation["id"])
    assert ref.startswith("slurm:")
    job_id = ref.removeprefix("slurm:")
    [job] = [j for j in cluster.jobs() if j["id"] == job_id]
    assert job["user"] == first and job["state"] == "RUNNING"

    kernel = Kernel(hub, first)
    who = _whoami(kernel, hub)
    # The job runs as the user's own unix account, not root.
    assert who["uid"] == who["euid"] == account.pw_uid >= 1000, who
    assert who["gid"] == account.pw_gid != 0 and 0 not in who["groups"], who
    assert who["cap_eff"] == 0, who
    # The hub's data folder is root's and closed (pytest's 0700 folders here, the
    # Ansible role's mode 0700 in production): the job's user reads none of it.
    assert "read" not in who["targets"].values(), who["targets"]
    assert host_process(who["pid"]).uid == account.pw_uid

    inside = detached.start_in(kernel)
    assert inside["sid"] != inside["kernel_sid"] and inside["ppid"] != inside["kernel_pid"]
    [process] = wait_for(detached.running, 10, "the detached process to show on the host")
    assert process.pid == inside["pid"] and process.uid == account.pw_uid, process.describe()
    # Reparented away from the job (to the host's init), but still in the job's cgroup.
    assert process.cgroups["freezer"].startswith(
        f"/slurm_{cluster.node}/uid_{account.pw_uid}/job_{job_id}/"
    ), process.describe()
    print(f"evidence: slurm job {job_id} of {first}: {process.describe()}; kernel: {inside}")

    # Hold the cluster's other 1g.10gb device, so the next job can only get this one.
    cluster.hold_gres(f"gpu:{NV}1g.10gb:1")

    _stop_and_assert_gone(hub, first, detached)
    wait_for(lambda: job_id not in {j["id"] for j in cluster.jobs()}, 30, "the job to leave")
    wait_for(lambda: not any(a["user"] == first for a in hub.allocations()), 30, "the release")
    wait_until_none(
        lambda: [p for p in host_processes() if p.uid == account.pw_uid],
        GONE_WITHIN_S,
        f"the job left: no process of {first} remains",
    )

    r = hub.spawn(second, {"image": "base", "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(second, timeout=90)
    assert _allocation_of(hub, second)["device_uuid"] == device
    assert not detached.running()
