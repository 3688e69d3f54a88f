"""The real engines as session fixtures (loaded for the whole run by tests/conftest.py),
plus real unix accounts and hub helpers for the backend and security suites."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from tests.backends.docker_images import (
    build_test_images,
    image_cache_daemon,
    install_fake_nvidia_hook,
    require_docker_and_rootfs,
)
from tests.support.dockerd import DockerDaemon
from tests.support.hub import Hub, write_site
from tests.support.requirements import missing
from tests.support.slurm import SlurmCluster


def ensure_unix_user(name: str) -> str:
    """A real unix account with a home (Slurm jobs run as hub users' accounts)."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        missing("root and useradd, to create the users' unix accounts")
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/bash", name],
            check=True,
            capture_output=True,
        )
    return name


def progress_messages(
    hub: Hub, user: str, until: Callable[[str], bool], timeout: float = 60
) -> list[str]:
    """Read the server's progress event stream until a message satisfies ``until``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    with requests.get(
        f"{hub.url}/hub/api/users/{user}/server/progress",
        headers={"Authorization": f"token {hub.token}"},
        stream=True,
        timeout=timeout,
    ) as r:
        r.raise_for_status()
        for line in r.iter_lines(decode_unicode=True):
            if time.monotonic() > deadline:
                break
            if not line or not line.startswith("data:"):
                continue
            message = json.loads(line[5:]).get("message", "")
            seen.append(message)
            if until(message):
                return seen
    raise AssertionError(f"no matching progress message; saw {seen}")


def stop_all_servers(hub: Hub) -> None:
    r = hub.get("/users")
    if r.status_code != 200:
        return
    for user in r.json():
        for server_name in user.get("servers") or {}:
            path = (
                f"/users/{user['name']}/servers/{server_name}"
                if server_name
                else (f"/users/{user['name']}/server")
            )
            hub.delete(path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        users = hub.get("/users").json()
        if not any(u.get("servers") for u in users):
            return
        time.sleep(0.3)


# --- Slurm: one private cluster and one hub for the session ---------------------------

NV = "nvidia_h100_80gb_hbm3_"
SLURM_USERS = ("sbxslurm1", "sbxslurm2", "sbxslurm3")


def slurm_site(when_busy: str = "queue") -> str:
    node = os.uname().nodename.split(".")[0]
    return f"""
site: {{name: Slurm test}}
hub:
  start_timeout: 90
  http_timeout: 60
  backend:
    kind: slurm
    poll_interval: 2
    host_share: {{cpus_per_gpu: 7, memory_gb_per_gpu: 7, cpu_slice_cpus: 1, cpu_slice_memory_gb: 1}}
    slurm:
      partition: gpu
      when_busy: {when_busy}
      gres_types: {{1g.10gb: {NV}1g.10gb, 3g.40gb: {NV}3g.40gb, 2g.20gb: {NV}2g.20gb}}
      # The one node is this host: its servers reach the hub at 127.0.0.1.
      node_addresses: {{{node}: 127.0.0.1}}
      # A job that dies at start: its environment does not exist on the node.
      images: {{legal: {{prefix: /nonexistent/sandbox-env}}}}
gpus:
  source: declared
  nodes:
    - name: {node}
      gpus:
        - index: 0
          mode: mig
          layout: [{{profile: 3g.40gb, start: 0}}, {{profile: 2g.20gb, start: 4}},
                   {{profile: 1g.10gb, start: 6}}]
        - index: 1
          mode: mig
          layout: [{{profile: 1g.10gb, start: 0}}, {{profile: 1g.10gb, start: 1}}]
"""


def slurm_hub_for(tmp: Path, cluster: SlurmCluster, when_busy: str) -> Hub:
    return Hub(
        tmp / "hub",
        site=write_site(tmp / "site.yaml", slurm_site(when_busy)),
        env={"SLURM_CONF": str(cluster.conf)},
    )


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """Two 1g.10gb and one 3g.40gb fake MIG devices, gres types named as NVML does."""
    for name in SLURM_USERS:
        ensure_unix_user(name)
    with SlurmCluster.start(
        {f"{NV}1g.10gb": 2, f"{NV}3g.40gb": 1}, cpus=16, memory_mb=32768
    ) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def slurm_hub(slurm_cluster: SlurmCluster, tmp_path_factory) -> Iterator[Hub]:
    hub = slurm_hub_for(tmp_path_factory.mktemp("slurm-queue"), slurm_cluster, "queue")
    try:
        yield hub.start()
    finally:
        hub.stop()
        hub.remove_homes()
        slurm_cluster.cancel_all()


# --- Docker: one private dockerd (fake NVIDIA hook), test images, one hub -------------

DOCKER_SHAPE = {
    "cpus_per_gpu": 7, "memory_gb_per_gpu": 14, "cpu_slice_cpus": 1, "cpu_slice_memory_gb": 1,
}  # fmt: skip


def docker_site(model_store: Path, requests: str = "true") -> str:
    return f"""
site: {{name: Docker test}}
hub:
  start_timeout: 60
  http_timeout: 30
  backend:
    kind: docker
    poll_interval: 2
    model_store: {model_store}
    host_share: {json.dumps(DOCKER_SHAPE)}
    docker:
      network: host
      gpu_device_requests: {requests}
      images: {{legal: "sandbox-test/crash:latest"}}
gpus: {{source: simulated, simulated_count: 1}}
"""


@pytest.fixture(scope="session")
def docker_engine(tmp_path_factory) -> Iterator[tuple[DockerDaemon, Path]]:
    """(daemon, the fake NVIDIA hook's log)."""
    require_docker_and_rootfs()
    tmp = tmp_path_factory.mktemp("docker-engine")
    hook_log = install_fake_nvidia_hook(tmp / "hook")
    with pytest.MonkeyPatch.context() as mp:
        # dockerd looks for the NVIDIA hook on its PATH when it starts.
        mp.setenv("PATH", f"{tmp / 'hook'}:{os.environ['PATH']}")
        with image_cache_daemon() as daemon:
            mp.undo()
            build_test_images(daemon)
            yield daemon, hook_log


@pytest.fixture(scope="session")
def docker_model_store(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("models")
    (store / "MANIFEST").write_text("tiny-model\n")
    store.chmod(0o755)  # the server runs as uid 1000
    return store


@pytest.fixture(scope="session")
def docker_hub(docker_engine, docker_model_store: Path, tmp_path_factory) -> Iterator[Hub]:
    daemon, _ = docker_engine
    tmp = tmp_path_factory.mktemp("docker-hub")
    hub = Hub(
        tmp / "hub",
        site=write_site(tmp / "site.yaml", docker_site(docker_model_store)),
        env={"DOCKER_HOST": daemon.env["DOCKER_HOST"]},
    )
    try:
        yield hub.start()
    finally:
        hub.stop()
        hub.remove_homes()
