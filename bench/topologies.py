"""How long a server takes to learn of a quota warning after the hub issues it, per
topology: servers on the hub's own host (local backend), Slurm across two nodes in
network namespaces, Docker on a bridge network (both at ``hub.internal_url``, built as
tests/integration/test_topologies_*.py build them).

The two remote topologies are built by ``slurm_across_nodes`` and ``docker_bridge``, which
the engines benchmark (bench/engines.py) runs its spawns on too.

Each sample starts a server for a member of a team whose sessions last MAX_SESSION and
are warned WARN_BEFORE ahead, so the hub's slices service issues the session-limit
warning at ``activated_at + MAX_SESSION - WARN_BEFORE`` (the ledger's activation time).
The bench then reads the server's own ``api/sandbox/slice`` (what JupyterLab's status bar
polls every 5 s) every POLL_S, from a random moment in the first HUB_VIEW_TTL_S after the
server is ready (a JupyterLab opened at any time), until the warning is there; the delay is
that moment minus the issue time. The server caches the hub's view for HUB_VIEW_TTL_S,
which bounds it."""

from __future__ import annotations

import contextlib
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from extensions.sandbox_server.handlers import HUB_VIEW_TTL_S

from .report import median, table

MAX_SESSION_S = 80
WARN_BEFORE_S = 40
POLL_S = 0.1
SAMPLES = 3
TEAM = "bench-team"
SLICE = "1g.10gb"
NV = "nvidia_h100_80gb_hbm3_"
NODES = ("gpu-a", "gpu-b")
BASE_IMAGE = "sandbox/base:latest"
"""The image servers run on Docker: what `make images` tags for ``base``."""
TOPOLOGIES = ("host", "slurm-across-nodes", "docker-bridge")


# --- the remote topologies, shared with bench/engines.py --------------------------------


@dataclass
class SlurmNodes:
    """slurmctld (and munged) on this host; one slurmd per name of NODES, each in its own
    network namespace at its own address, with ``devices`` fake ``SLICE`` MIG devices."""

    net: Any  # tests.support.netns.Network
    cluster: Any  # tests.support.slurm.SlurmCluster
    devices: int

    @property
    def internal_url(self) -> str:
        """Where the nodes reach the hub: the host's address on their network."""
        return f"http://{self.net.host_address}"

    @property
    def addresses(self) -> dict[str, str]:
        return {name: self.net.nodes[name].address for name in NODES}

    @property
    def gres(self) -> str:
        return f"gpu:{NV}{SLICE}:1"

    def backend(self, poll_interval: int | None = None) -> str:
        """``hub.backend`` lines (under ``backend:``) of our hub on these nodes."""
        addresses = ", ".join(f"{n}: {a}" for n, a in self.addresses.items())
        poll = f"    poll_interval: {poll_interval}\n" if poll_interval else ""
        return (
            f"    kind: slurm\n{poll}"
            f"    slurm: {{partition: gpu, gres_types: {{{SLICE}: {NV}{SLICE}}},"
            f" node_addresses: {{{addresses}}}}}\n"
        )

    def gpus(self) -> str:
        """``gpus:`` of our hub: the declared inventory naming both nodes."""
        layout = ", ".join(f"{{profile: {SLICE}, start: {i}}}" for i in range(self.devices))
        nodes = ", ".join(
            f"{{name: {n}, gpus: [{{index: 0, mode: mig, layout: [{layout}]}}]}}" for n in NODES
        )
        return f"{{source: declared, nodes: [{nodes}]}}"


@contextlib.contextmanager
def slurm_across_nodes(devices: int = 1, **cluster_args: Any) -> Iterator[SlurmNodes]:
    """The nodes of NODES in network namespaces, a Slurm cluster across them
    (tests/support/netns.py, ``SlurmCluster.start_across``); every job is cancelled and
    everything removed on the way out."""
    from tests.support.netns import Network
    from tests.support.slurm import SlurmCluster

    gres = {name: {f"{NV}{SLICE}": devices} for name in NODES}
    with (
        Network.start(NODES) as net,
        SlurmCluster.start_across(net, gres, **cluster_args) as cluster,
    ):
        try:
            yield SlurmNodes(net, cluster, devices)
        finally:
            cluster.cancel_all()


@dataclass
class DockerBridge:
    """The image store's dockerd with BASE_IMAGE built, and a user-defined bridge network
    of its own on a private /24 (no iptables, no masquerading), as
    tests/integration/test_topologies_docker.py builds it."""

    daemon: Any  # tests.support.dockerd.DockerDaemon
    network: str
    gateway: str

    @property
    def internal_url(self) -> str:
        """Where containers reach the hub: the bridge's gateway address."""
        return f"http://{self.gateway}"

    def backend(
        self,
        poll_interval: int | None = None,
        *,
        device_requests: bool = False,
        model_store: Path | None = None,
    ) -> str:
        """``hub.backend`` lines (under ``backend:``) of our hub on this bridge."""
        poll = f"    poll_interval: {poll_interval}\n" if poll_interval else ""
        store = f"    model_store: {model_store}\n" if model_store else ""
        requests = "true" if device_requests else "false"
        return (
            f"    kind: docker\n{poll}{store}"
            f"    docker: {{network: {self.network}, gpu_device_requests: {requests},"
            f' images: {{base: "{BASE_IMAGE}"}}}}\n'
        )


@contextlib.contextmanager
def docker_bridge(nvidia_hook: Path | None = None) -> Iterator[DockerBridge]:
    """A ``DockerBridge``. ``nvidia_hook``: a folder to install the fake NVIDIA runtime
    hook in (tests/backends/docker_images.py), so device requests are honoured as on a
    GPU node; None: containers get none. BASE_IMAGE is built first where this checkout
    changed it (`make images`, base only: its product layer takes seconds)."""
    from tests.backends.docker_images import image_cache_daemon, install_fake_nvidia_hook
    from tests.images.conftest import build_images

    saved_path = os.environ["PATH"]
    if nvidia_hook is not None:
        install_fake_nvidia_hook(nvidia_hook)
        os.environ["PATH"] = f"{nvidia_hook}:{saved_path}"  # dockerd finds it at its start
    try:
        daemon_cm = image_cache_daemon()
        daemon = daemon_cm.__enter__()
    finally:
        os.environ["PATH"] = saved_path
    try:
        images = build_images()
        images.build(images.Docker(daemon.env), ["base"])
        with daemon.bridge_network("sbx-bench") as (network, gateway):
            yield DockerBridge(daemon, network, gateway)
    finally:
        daemon_cm.__exit__(None, None, None)


# --- the warning-delay benchmark --------------------------------------------------------


def _teams() -> str:
    return f"""
teams:
  {TEAM}:
    kind: staff
    groups: [{TEAM}]
    policy: {{max_session: {MAX_SESSION_S}s, warn_before: {WARN_BEFORE_S}s}}
"""


def _site(hub: str, backend: str, gpus: str = "{source: simulated, simulated_count: 1}") -> str:
    return f"""
site: {{name: Warning delay benchmark}}
hub:
  start_timeout: 90
  http_timeout: 60
{hub}  backend:
{backend}
    host_share: {{cpus_per_gpu: 1, memory_gb_per_gpu: 1, cpu_slice_cpus: 1, cpu_slice_memory_gb: 1}}
gpus: {gpus}
{_teams()}"""


@contextlib.contextmanager
def _host(tmp: Path) -> Iterator[tuple[Any, str]]:
    from tests.support.hub import Hub, write_site

    site = _site("", "    kind: local\n    poll_interval: 2")
    hub = Hub(tmp / "hub", site=write_site(tmp / "site.yaml", site))
    try:
        yield hub.start(), "sbxbench1"
    finally:
        hub.stop()
        hub.remove_homes()


@contextlib.contextmanager
def _slurm(tmp: Path) -> Iterator[tuple[Any, str]]:
    from tests.backends.engines import ensure_unix_user
    from tests.support.hub import Hub, write_site

    user = ensure_unix_user("sbxslurm1")
    with slurm_across_nodes() as nodes:
        site = _site(
            f"  internal_url: {nodes.internal_url}\n", nodes.backend(2).rstrip("\n"), nodes.gpus()
        )
        hub = Hub(
            tmp / "hub",
            site=write_site(tmp / "site.yaml", site),
            env={"SLURM_CONF": str(nodes.cluster.conf)},
        )
        try:
            yield hub.start(), user
        finally:
            hub.stop()
            hub.remove_homes()


@contextlib.contextmanager
def _docker(tmp: Path) -> Iterator[tuple[Any, str]]:
    from tests.support.hub import Hub, write_site

    with docker_bridge() as bridge:
        site = _site(f"  internal_url: {bridge.internal_url}\n", bridge.backend(2).rstrip("\n"))
        hub = Hub(
            tmp / "hub",
            site=write_site(tmp / "site.yaml", site),
            env={"DOCKER_HOST": bridge.daemon.env["DOCKER_HOST"]},
        )
        try:
            yield hub.start(), "sbxbench1"
        finally:
            hub.stop()
            hub.remove_homes()


ARMS: dict[str, Callable[[Path], contextlib.AbstractContextManager[tuple[Any, str]]]] = {
    "host": _host,
    "slurm-across-nodes": _slurm,
    "docker-bridge": _docker,
}


def _sample(hub: Any, user: str) -> float:
    """One server: seconds from the hub issuing its warning to the server showing it."""
    r = hub.spawn(user, {"image": "base", "slice": SLICE})
    if r.status_code not in (201, 202):
        raise RuntimeError(f"spawn: {r.status_code} {r.text}")
    hub.wait_ready(user, timeout=120)
    try:
        record = hub.live_record(user)
        issued = (record.activated_at or time.time()) + MAX_SESSION_S - WARN_BEFORE_S
        token = hub.user_token(user)
        url = f"{hub.url}/user/{user}/api/sandbox/slice"
        # JupyterLab opened at a random moment before the warning: the phase of the
        # server's cache of the hub's view.
        opened = (record.activated_at or time.time()) + random.uniform(0, HUB_VIEW_TTL_S)
        time.sleep(max(0.0, opened - time.time()))
        deadline = issued + HUB_VIEW_TTL_S + 15
        while time.time() < deadline:
            view = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=10)
            codes = {w.get("code") for w in view.json().get("warnings", [])}
            if view.json().get("hub_view") and "session-limit" in codes:
                return time.time() - issued
            time.sleep(POLL_S)
        raise RuntimeError(f"no warning within {HUB_VIEW_TTL_S + 15:.0f}s of its issue")
    finally:
        hub.stop_server(user)


def run(samples: int = SAMPLES, topologies: tuple[str, ...] = TOPOLOGIES) -> dict[str, Any]:
    results: dict[str, Any] = {
        "samples": samples,
        "hub_view_ttl_s": HUB_VIEW_TTL_S,
        "jupyterlab_poll_s": 5.0,
        "topologies": {},
    }
    for name in topologies:
        with (
            tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp,
            ARMS[name](Path(tmp)) as (
                hub,
                user,
            ),
        ):
            hub.ensure_user(user)
            hub.post(f"/groups/{TEAM}")
            hub.post(f"/groups/{TEAM}/users", json={"users": [user]}).raise_for_status()
            delays = [round(_sample(hub, user), 2) for _ in range(samples)]
        results["topologies"][name] = {
            "delays_s": delays,
            "median_s": round(median(delays), 2),
            "max_s": max(delays),
        }
        print(f"{name}: {delays}", flush=True)
    return results


def render(results: dict[str, Any]) -> str:
    rows = [
        [name, r["median_s"], r["max_s"], " ".join(f"{d:.2f}" for d in r["delays_s"])]
        for name, r in results["topologies"].items()
    ]
    return table(
        f"Quota warning, hub issues -> server shows it ({results['samples']} servers per "
        f"topology; bounded by the server's {results['hub_view_ttl_s']:.0f} s cache of the "
        f"hub's view, plus JupyterLab's {results['jupyterlab_poll_s']:.0f} s poll in a browser)",
        ["topology", "median s", "max s", "samples s"],
        rows,
    )
