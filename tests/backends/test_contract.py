"""The backend contract, one test run against every engine.

1. The engine enforces the slice: the engine-level knob carries exactly the allocated
   device, gres or resource (not just an environment variable the server could ignore):
   local: the server process's CUDA_VISIBLE_DEVICES (the only knob a local process has);
   docker: the container's device request, memory and CPU limits; slurm: the job's gres
   and the device Slurm granted, as the ledger recorded it; kubernetes (manifest level):
   the pod's device-plugin resource, CPU and memory.
2. A failed start gives the slice back: a server that crashes, a container that dies, a
   job that dies, a cluster that refuses the pod.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spawners.backends.local import parse_engine_ref
from spawners.backends.resources import NodeShape, host_share
from spawners.backends.slurm_script import gres_for_slice
from spawners.ledger.ledger import Ledger
from tests.backends import inprocess
from tests.backends.docker_images import containers
from tests.backends.engines import DOCKER_SHAPE, NV, stop_all_servers
from tests.support.hub import Hub, wait_for, write_site

BACKENDS = ("local", "docker", "slurm", "kubernetes")
SLICE = "1g.10gb"

LOCAL_SITE = """
site: {name: Local contract}
hub: {start_timeout: 60, http_timeout: 30, backend: {kind: local}}
gpus: {source: simulated, simulated_count: 1}
"""


def _record(hub: Hub, allocation_id: int):
    ledger = Ledger(f"sqlite:///{hub.data / 'ledger.sqlite'}")
    try:
        return ledger.get(allocation_id)
    finally:
        ledger.dispose()


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode().split("=", 1) for item in raw.split(b"\0") if b"=" in item)


class HubEngine:
    """An engine driven through a real hub. Subclasses read the engine's knob."""

    user = "sbxslurm1"
    failing_image = "legal"

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def start(self, slice_name: str) -> dict:
        r = self.hub.spawn(self.user, {"image": "base", "slice": slice_name})
        assert r.status_code in (201, 202), r.text
        self.hub.wait_ready(self.user, timeout=90)
        [allocation] = self.hub.allocations()
        return allocation

    def stop(self) -> None:
        self.hub.stop_server(self.user)

    def start_failing(self, slice_name: str) -> None:
        r = self.hub.spawn(self.user, {"image": self.failing_image, "slice": slice_name})
        assert r.status_code in (202, 500), r.text
        wait_for(lambda: self.hub.server(self.user) is None, 90, "the failed start to end")

    def live_allocations(self) -> list:
        return self.hub.allocations()


class LocalEngine(HubEngine):
    def knob(self, allocation: dict) -> tuple[Any, Any]:
        record = _record(self.hub, allocation["id"])
        pid, _cgroup = parse_engine_ref(record.engine_ref)  # pid:<n>[;cgroup:<name>]
        assert pid is not None, record.engine_ref
        env = _environ(pid)
        return env["CUDA_VISIBLE_DEVICES"], allocation["device_uuid"]

    def start_failing(self, slice_name: str) -> None:
        # The user's own Jupyter config (in the home of their unix account, made as the
        # hub makes it if this is the first spawn) makes the server crash at start.
        config = self.hub.write_home_file(
            self.user, ".jupyter/jupyter_server_config.py", "raise SystemExit('crash at start')\n"
        )
        try:
            r = self.hub.spawn(self.user, {"image": "base", "slice": slice_name})
            assert r.status_code in (202, 500), r.text
            wait_for(lambda: self.hub.server(self.user) is None, 60, "the crash")
        finally:
            config.unlink()


class DockerEngine(HubEngine):
    def __init__(self, hub: Hub, daemon) -> None:  # noqa: ANN001
        super().__init__(hub)
        self.daemon = daemon

    def knob(self, allocation: dict) -> tuple[Any, Any]:
        [c] = containers(self.daemon)
        host = c["HostConfig"]
        share = host_share(allocation["slice"], NodeShape.from_site(DOCKER_SHAPE))
        got = ([r["DeviceIDs"] for r in host["DeviceRequests"]], host["Memory"], host["CpuQuota"])
        return got, ([[allocation["device_uuid"]]], share.memory_bytes, share.cpu_millis * 100)

    def live_allocations(self) -> list:
        wait_for(lambda: not containers(self.daemon), 30, "the container to be removed")
        return self.hub.allocations()


class SlurmEngine(HubEngine):
    def __init__(self, hub: Hub, cluster) -> None:  # noqa: ANN001
        super().__init__(hub)
        self.cluster = cluster

    def knob(self, allocation: dict) -> tuple[Any, Any]:
        record = _record(self.hub, allocation["id"])
        job_id = record.engine_ref[6:]
        [job] = [j for j in self.cluster.jobs() if j["id"] == job_id]
        inside = self.hub.slice_from_inside(self.user)["environment"]["CUDA_VISIBLE_DEVICES"]
        gres = gres_for_slice(allocation["slice"], {SLICE: f"{NV}{SLICE}"})
        granted = f"slurm:{self.cluster.node}:{gres.rsplit(':', 1)[0]}:{inside}"
        return (job["gres"], record.device_uuid), (f"gres:{gres}", granted)

    def live_allocations(self) -> list:
        wait_for(lambda: not self.cluster.jobs(), 30, "the job to end")
        return self.hub.allocations()


class KubernetesEngine:
    """KubeSliceSpawner in-process against a cluster that refuses connections: the pod
    manifest is read before it would be sent; a start fails at the API."""

    def __init__(self, tmp: Path, monkeypatch) -> None:  # noqa: ANN001
        inprocess.unreachable_kubeconfig(tmp, monkeypatch)
        self.ctx = inprocess.slice_context(tmp)

    def _spawner(self):
        from spawners.backends.kubernetes import KubeSliceSpawner

        return KubeSliceSpawner(
            _mock=True,
            user=inprocess.user("alice"),
            hub=inprocess.hub(),
            slice_context=self.ctx,
            namespace="sandbox",
            k8s_api_request_retry_timeout=2,
        )

    def start(self, slice_name: str) -> dict:
        async def run():
            from kubernetes_asyncio.client import ApiClient

            spawner = self._spawner()
            record = self.ctx.ledger.reserve(
                user="alice", server_name="", image="base", slice_name=slice_name,
                inventory=self.ctx.inventory, epoch=self.ctx.epoch, engine="kubernetes",
            )  # fmt: skip
            spawner.allocation = record
            await spawner.load_user_options()
            return record, ApiClient().sanitize_for_serialization(await spawner.get_pod_manifest())

        self.record, self.pod = asyncio.run(run())
        return {"id": self.record.id, "slice": slice_name}

    def knob(self, allocation: dict) -> tuple[Any, Any]:
        limits = self.pod["spec"]["containers"][0]["resources"]["limits"]
        share = host_share(allocation["slice"])
        gpu = {k: v for k, v in limits.items() if k.startswith("nvidia.com/")}
        got = (gpu, limits["cpu"], limits["memory"])
        return got, ({f"nvidia.com/mig-{allocation['slice']}": "1"}, share.cpus, share.memory_bytes)

    def stop(self) -> None:
        self.ctx.ledger.release(self.record.id, "test done")

    def start_failing(self, slice_name: str) -> None:
        async def run():
            spawner = self._spawner()
            spawner.user_options = {"image": "base", "slice": slice_name}
            with pytest.raises(Exception):  # noqa: B017  (the client's connection error)
                await spawner.start()

        asyncio.run(run())

    def live_allocations(self) -> list:
        return self.ctx.ledger.live()


@pytest.fixture(scope="module")
def local_hub(tmp_path_factory) -> Iterator[Hub]:
    tmp = tmp_path_factory.mktemp("local-contract")
    hub = Hub(tmp / "hub", site=write_site(tmp / "site.yaml", LOCAL_SITE))
    try:
        yield hub.start()
    finally:
        hub.stop()
        hub.remove_homes()


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path: Path, monkeypatch):
    name = request.param
    if name == "kubernetes":
        yield KubernetesEngine(tmp_path, monkeypatch)
        return
    request.applymarker(pytest.mark.integration)
    if name == "local":
        hub = request.getfixturevalue("local_hub")
        yield LocalEngine(hub)
    elif name == "docker":
        hub = request.getfixturevalue("docker_hub")
        daemon, _ = request.getfixturevalue("docker_engine")
        yield DockerEngine(hub, daemon)
    else:
        hub = request.getfixturevalue("slurm_hub")
        yield SlurmEngine(hub, request.getfixturevalue("slurm_cluster"))
        request.getfixturevalue("slurm_cluster").cancel_all()
    stop_all_servers(hub)


def test_engine_enforces_the_slice(engine) -> None:
    allocation = engine.start(SLICE)
    got, expected = engine.knob(allocation)
    assert got == expected
    engine.stop()
    assert engine.live_allocations() == []


def test_failed_start_gives_the_slice_back(engine) -> None:
    engine.start_failing(SLICE)
    assert engine.live_allocations() == []
    # The slice really is free again: it can be had at once.
    allocation = engine.start(SLICE)
    assert allocation["slice"] == SLICE
    engine.stop()
