"""Servers as real containers, through a real hub, on a private dockerd.

dockerd runs with a fake ``nvidia-container-runtime-hook`` on its PATH (see
docker_images.py), so it accepts device requests as a GPU node would and the hook
records the devices it was asked for. Containers use the host network (the private
daemon has no bridge): each server listens on its own free port on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spawners.backends.resources import NodeShape, host_share
from tests.backends.docker_images import (
    SERVER_TAG,
    containers,
    volume_names,
)
from tests.backends.engines import DOCKER_SHAPE, stop_all_servers
from tests.support.dockerd import DockerDaemon
from tests.support.hub import Hub, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(docker_engine) -> tuple[DockerDaemon, Path]:
    return docker_engine


@pytest.fixture
def model_store(docker_model_store: Path) -> Path:
    return docker_model_store


@pytest.fixture
def hub(docker_hub: Hub, docker_engine) -> Iterator[Hub]:
    yield docker_hub
    stop_all_servers(docker_hub)


def _container(daemon: DockerDaemon, user: str) -> dict:
    [c] = [c for c in containers(daemon) if c["Name"] == f"/jupyter-{user}"]
    return c


def _exec(daemon: DockerDaemon, container: dict, script: str) -> str:
    return daemon.docker("exec", container["Id"], "sh", "-c", script).stdout


def test_container_gets_exactly_its_slice(hub: Hub, engine, model_store: Path) -> None:
    daemon, hook_log = engine
    r = hub.spawn("alice", {"image": "vision", "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("alice", timeout=60)
    [allocation] = hub.allocations()
    device = allocation["device_uuid"]
    assert device.startswith("MIG-")
    c = _container(daemon, "alice")
    host = c["HostConfig"]

    # The device request: --gpus device=<the allocated MIG UUID>, and nothing else.
    assert host["DeviceRequests"] == [
        {
            "Driver": "nvidia",
            "Count": 0,
            "DeviceIDs": [device],
            "Capabilities": [["gpu"]],
            "Options": {},
        }
    ]
    assert f"prestart NVIDIA_VISIBLE_DEVICES={device}" in hook_log.read_text().splitlines()
    # Limits from the slice's host share, enforced by the kernel's cgroup.
    share = host_share("1g.10gb", NodeShape.from_site(DOCKER_SHAPE))
    assert host["Memory"] == share.memory_bytes
    assert host["CpuQuota"] / host["CpuPeriod"] == pytest.approx(share.cpus)
    cgroup = _exec(
        daemon,
        c,
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us",
    ).split()
    assert int(cgroup[0]) == share.memory_bytes and int(cgroup[1]) == host["CpuQuota"]
    # The home on a named volume, the model store read-only.
    assert sorted(host["Binds"]) == sorted(
        ["sandbox-home-alice:/home/jovyan:rw", f"{model_store}:/opt/models:ro"]
    )
    assert _exec(daemon, c, "cat /opt/models/MANIFEST") == "tiny-model\n"
    mount = _exec(daemon, c, "grep ' /opt/models ' /proc/mounts").split()
    assert "ro" in mount[3].split(",")
    env = dict(item.split("=", 1) for item in c["Config"]["Env"])
    assert env["CUDA_VISIBLE_DEVICES"] == env["NVIDIA_VISIBLE_DEVICES"] == device
    assert env["SANDBOX_MODELS"] == "/opt/models"
    assert c["Config"]["Image"] == "sandbox/vision"
    assert c["Config"]["Labels"]["sandbox.ai/allocation"] == str(allocation["id"])
    # And the server itself says so.
    inside = hub.slice_from_inside("alice")["environment"]
    assert inside["CUDA_VISIBLE_DEVICES"] == device and inside["SANDBOX_SLICE"] == "1g.10gb"

    hub.stop_server("alice")
    assert containers(daemon) == []
    assert hub.allocations() == []


def test_home_persists_and_a_cpu_container_sees_no_gpu(hub: Hub, engine) -> None:
    daemon, _ = engine
    assert hub.spawn("bob", {"image": "base", "slice": "2g.20gb"}).status_code in (201, 202)
    hub.wait_ready("bob", timeout=60)
    _exec(daemon, _container(daemon, "bob"), "echo kept > /home/jovyan/notes.txt")
    hub.stop_server("bob")
    assert "sandbox-home-bob" in volume_names(daemon)

    assert hub.spawn("bob", {"image": "base", "slice": "cpu"}).status_code in (201, 202)
    hub.wait_ready("bob", timeout=60)
    c = _container(daemon, "bob")
    assert _exec(daemon, c, "cat /home/jovyan/notes.txt") == "kept\n"
    assert c["HostConfig"]["DeviceRequests"] in (None, [])
    env = dict(item.split("=", 1) for item in c["Config"]["Env"])
    assert env["NVIDIA_VISIBLE_DEVICES"] == "void" and env["CUDA_VISIBLE_DEVICES"] == ""
    assert c["Config"]["Image"] == "sandbox/base"


def test_container_that_dies_at_start_gives_its_slice_back(hub: Hub, engine) -> None:
    daemon, _ = engine
    free_before = hub.inventory()["free"]["3g.40gb"]
    r = hub.spawn("carol", {"image": "legal", "slice": "3g.40gb"})
    assert r.status_code in (202, 500), r.text
    wait_for(lambda: hub.server("carol") is None, 60, "the failed server to be cleared")
    assert hub.allocations() == []
    assert hub.inventory()["free"]["3g.40gb"] == free_before
    wait_for(lambda: not containers(daemon), 30, "the dead container to be removed")


HOSTILE = [
    {"image": "vision", "slice": "1g.10gb", "extra_host_config": {"privileged": True}},
    {"image": "ubuntu:latest", "slice": "1g.10gb"},
    {"image": SERVER_TAG, "slice": "1g.10gb"},
    {"image": "vision", "slice": "1g.10gb", "volumes": {"/": "/host"}},
    {"image": "vision", "slice": "7g.80gb\n--gpus all"},
]


@pytest.mark.parametrize("options", HOSTILE)
def test_hostile_options_never_reach_a_container(hub: Hub, engine, options) -> None:
    daemon, _ = engine
    r = hub.spawn("mallory", options)
    assert r.status_code == 400, r.text
    assert containers(daemon) == []
    assert hub.allocations() == []


def test_reconciliation_probe_asks_docker(hub: Hub, engine, monkeypatch) -> None:
    """The probe the hub runs at start-up: the allocation's own container, running."""
    import dataclasses

    from spawners.backends.docker import docker_server_running, remove_abandoned_container
    from spawners.ledger.ledger import Ledger

    daemon, _ = engine
    monkeypatch.setenv("DOCKER_HOST", daemon.env["DOCKER_HOST"])
    assert hub.spawn("dave", {"image": "base", "slice": "cpu"}).status_code in (201, 202)
    hub.wait_ready("dave", timeout=60)
    [allocation] = hub.allocations()
    ledger = Ledger(f"sqlite:///{hub.data / 'ledger.sqlite'}")
    try:
        record = ledger.get(allocation["id"])
    finally:
        ledger.dispose()
    assert record.engine_ref == f"docker:{_container(daemon, 'dave')['Id']}"
    assert docker_server_running(record) is True
    # A container that carries another allocation's label is not this one's server.
    assert docker_server_running(dataclasses.replace(record, id=record.id + 1000)) is False
    remove_abandoned_container(record)
    assert docker_server_running(record) is False
    wait_for(lambda: hub.server("dave") is None, 30, "the hub to notice")
    assert hub.allocations() == []
