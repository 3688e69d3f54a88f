"""Spawn-to-ready through real engines, on the topologies of a data center: our Slurm and
Docker backends against stock batchspawner SlurmSpawner and dockerspawner DockerSpawner,
in the same run.

Per engine, two hubs run side by side on one engine, built as bench/topologies.py builds
them for the warnings benchmark:

- Slurm across nodes (``slurm_across_nodes``): slurmctld on this host, two slurmd "GPU
  nodes" each in its own network namespace with two fake MIG devices; the rounds of
  spawns alternate between the nodes (node weights). Servers run in the
  nodes' namespaces and reach the hub across the boundary at the host's address on the
  nodes' network (ours: ``hub.internal_url`` and a declared inventory naming both nodes;
  stock: ``hub_ip``/``hub_connect_url`` there and batchspawner's ``MultiSlurmSpawner``
  with node name -> address, its batch script the same as ours).
- Docker on a bridge network (``docker_bridge``): the image store's dockerd with the fake
  NVIDIA hook, the ``base`` image `make images` builds, a user-defined bridge network.
  Both arms run that image on that network with the same device request, limits, home
  volume and read-only model store (ours: the site's ``docker.network`` and
  ``hub.internal_url`` at the bridge's gateway; stock: ``network_name``,
  ``use_internal_ip``, ``hub_ip``/``hub_connect_url`` at the gateway).

Ours is hub_config/jupyterhub_config.py with a site for that backend; stock is
bench/stock_engines_config.py. Spawns are interleaved (ours, stock, then stock, ours, ...);
each is POST, then GET every 20 ms until ready, then DELETE and wait until gone. The hubs'
logs are kept in .cache/bench/engines-<engine>-<arm>.log."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .hub import POLL_S, Hub, HubError, ours_hub, stock_hub
from .report import RESULTS, median, percentile, table
from .topologies import BASE_IMAGE, NODES, SLICE, docker_bridge, slurm_across_nodes

SPAWNS = 10
TARGET_RATIO = 1.05
USER = "sbxbench"
SHAPE = {"cpus_per_gpu": 7, "memory_gb_per_gpu": 7, "cpu_slice_cpus": 1, "cpu_slice_memory_gb": 1}
DEVICES_PER_NODE = 2
"""Fake MIG devices per Slurm node: a spawn never waits for the last job's device."""
STOCK_DEVICE = "MIG-00000000-0000-0000-0000-000000000000"
"""The device the stock DockerSpawner asks for (fixed: it has no allocator)."""


@dataclass
class Arms:
    ours: Hub
    stock: Hub
    where: Callable[[], str] | None = None
    """Where the server that is up now runs (the Slurm node), for the report."""
    before_round: Callable[[int], None] | None = None
    """Called before round i's two spawns (Slurm: which node the round's jobs go to)."""
    placed: dict[str, dict[str, int]] = field(default_factory=dict)


def _site(internal_url: str, backend: str, gpus: str) -> str:
    shape = ", ".join(f"{k}: {v}" for k, v in SHAPE.items())
    return f"""
site: {{name: Engines benchmark}}
hub:
  internal_url: {internal_url}
  start_timeout: 90
  http_timeout: 60
  backend:
{backend}    host_share: {{{shape}}}
gpus: {gpus}
"""


def _hubs(
    tmp: Path, site_text: str, internal_host: str, env: dict[str, str], stock_env: dict[str, str]
) -> tuple[Hub, Hub]:
    site = tmp / "ours-site.yaml"
    site.write_text(site_text)
    ours = ours_hub(tmp, SANDBOX_SITE=str(site), **env)
    stock = stock_hub(
        tmp,
        range(ours.port, ours.port + 4),
        config="stock_engines_config.py",
        BENCH_HUB_IP=internal_host,
        **stock_env,
        **env,
    )
    for hub in (ours, stock):
        hub.internal_host = internal_host
    return ours, stock


def _wait(hub: Hub, done, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = hub.request("GET", f"/users/{USER}")
        if status != 200:
            raise HubError(f"{hub.name}: GET user -> {status} {body}")
        if done(body):
            return
        time.sleep(POLL_S)
    raise HubError(f"{hub.name}: {what} not reached within {timeout:.0f}s:\n{hub.log_tail(40)}")


def _spawn_once(hub: Hub, body: dict | None, where: Callable[[], str] | None) -> tuple[float, str]:
    t0 = time.perf_counter()
    status, answer = hub.request("POST", f"/users/{USER}/server", body)
    if status not in (201, 202):
        raise HubError(f"{hub.name}: spawn -> {status} {answer}\n{hub.log_tail(40)}")
    _wait(hub, lambda b: (b.get("servers", {}).get("") or {}).get("ready"), "ready", 150)
    spawned = time.perf_counter() - t0
    placed = where() if where else ""
    status, answer = hub.request("DELETE", f"/users/{USER}/server")
    if status not in (202, 204):
        raise HubError(f"{hub.name}: stop -> {status} {answer}")
    _wait(hub, lambda b: "" not in b.get("servers", {}), "stopped", 90)
    return spawned, placed


def _compare(arms: Arms, spawns: int) -> dict[str, list[float]]:
    hubs = {"ours": (arms.ours, {"image": "base", "slice": SLICE}), "stock": (arms.stock, None)}
    samples: dict[str, list[float]] = {"ours": [], "stock": []}
    try:
        for hub, _ in hubs.values():
            hub.start()
            status, answer = hub.request("POST", f"/users/{USER}")
            if status not in (201, 409):
                raise HubError(f"{hub.name}: create user -> {status} {answer}")
        for hub, body in hubs.values():  # warm-up (image layers, home volume), not counted
            _spawn_once(hub, body, None)
        for i in range(spawns):
            if arms.before_round:
                arms.before_round(i)
            for name in list(hubs) if i % 2 == 0 else list(reversed(hubs)):
                spawned, placed = _spawn_once(*hubs[name], arms.where)
                samples[name].append(spawned)
                if placed:
                    counts = arms.placed.setdefault(name, {})
                    counts[placed] = counts.get(placed, 0) + 1
                print(f"  {name}: {spawned:.2f}s {placed}".rstrip(), flush=True)
    finally:
        for hub, _ in hubs.values():
            killed = hub.stop()  # its servers through the REST API first
            if killed:
                print(f"{hub.name}: killed leftover pids {killed}", flush=True)
    return samples


@contextlib.contextmanager
def _slurm_arms(tmp: Path) -> Iterator[Arms]:
    from spawners.backends.resources import NodeShape, host_share

    share = host_share(SLICE, NodeShape.from_site(SHAPE))
    with slurm_across_nodes(DEVICES_PER_NODE, cpus=16, memory_mb=32768) as nodes:
        conf = {"SLURM_CONF": str(nodes.cluster.conf)}
        site = _site(nodes.internal_url, nodes.backend(), nodes.gpus())
        ours, stock = _hubs(
            tmp, site, nodes.net.host_address, conf,
            {
                "BENCH_ENGINE": "slurm", "BENCH_GRES": nodes.gres,
                "BENCH_CPUS": str(share.whole_cpus), "BENCH_MEM_MIB": str(share.memory_mib),
                "BENCH_NODE_ADDRESSES": json.dumps(nodes.addresses),
            },
        )  # fmt: skip

        def where() -> str:
            out = nodes.cluster.run("squeue", "-h", "-u", USER, "-t", "RUNNING", "-o", "%N")
            return ",".join(out.stdout.split())

        def prefer(i: int) -> None:
            # Both arms' jobs of a round on one node, the rounds alternating between the
            # nodes: Slurm picks the node of lowest Weight that fits.
            first = NODES[i % len(NODES)]
            for node in NODES:
                weight = 1 if node == first else 100
                nodes.cluster.run("scontrol", "update", f"NodeName={node}", f"Weight={weight}")

        yield Arms(ours, stock, where, prefer)


@contextlib.contextmanager
def _docker_arms(tmp: Path) -> Iterator[Arms]:
    from spawners.backends.resources import NodeShape, host_share

    share = host_share(SLICE, NodeShape.from_site(SHAPE))
    models = tmp / "models"
    models.mkdir(mode=0o755)
    with docker_bridge(nvidia_hook=tmp / "hook") as bridge:
        site = _site(
            bridge.internal_url,
            bridge.backend(device_requests=True, model_store=models),
            "{source: simulated, simulated_count: 1}",
        )
        ours, stock = _hubs(
            tmp, site, bridge.gateway, {"DOCKER_HOST": bridge.daemon.env["DOCKER_HOST"]},
            {
                "BENCH_ENGINE": "docker", "BENCH_IMAGE": BASE_IMAGE,
                "BENCH_NETWORK": bridge.network, "BENCH_DEVICE": STOCK_DEVICE,
                "BENCH_MEM_BYTES": str(share.memory_bytes), "BENCH_CPU_LIMIT": str(share.cpus),
                "BENCH_MODELS": str(models),
            },
        )  # fmt: skip
        yield Arms(ours, stock)


ENGINES = {"slurm": _slurm_arms, "docker": _docker_arms}
TOPOLOGY = {"slurm": "Slurm across 2 netns nodes", "docker": "Docker bridge, real base image"}


def _ensure_user() -> None:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)


def _keep_logs(engine: str, arms: Arms) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    for hub in (arms.ours, arms.stock):
        with contextlib.suppress(OSError):
            shutil.copyfile(hub.log_path, RESULTS / f"engines-{engine}-{hub.name}.log")


def run(spawns: int = SPAWNS, engines: tuple[str, ...] = tuple(ENGINES)) -> dict[str, Any]:
    if os.geteuid() != 0:
        raise HubError(
            "the engines benchmark runs Slurm, network namespaces and dockerd: run it as root"
        )
    _ensure_user()
    results: dict[str, Any] = {"spawns": spawns, "slice": SLICE, "engines": {}}
    for engine in engines:
        print(f"{engine}: {TOPOLOGY[engine]}", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"bench-{engine}-") as tmp:
            os.chmod(tmp, 0o755)
            with ENGINES[engine](Path(tmp)) as arms:
                try:
                    samples = _compare(arms, spawns)
                finally:
                    _keep_logs(engine, arms)
        ratio = median(samples["ours"]) / median(samples["stock"])
        results["engines"][engine] = {
            "topology": TOPOLOGY[engine],
            "ours_median_s": median(samples["ours"]),
            "stock_median_s": median(samples["stock"]),
            "ours_p95_s": percentile(samples["ours"], 95),
            "stock_p95_s": percentile(samples["stock"], 95),
            "ours_samples_s": samples["ours"],
            "stock_samples_s": samples["stock"],
            "nodes": arms.placed,
            "ratio_median_ours_vs_stock": ratio,
            "target_met": ratio <= TARGET_RATIO,
        }
    results["target"] = f"<= {TARGET_RATIO}"
    return results


def render(results: dict[str, Any]) -> str:
    rows = []
    for engine, r in results["engines"].items():
        rows.append(
            [
                engine,
                r["ours_median_s"],
                min(r["ours_samples_s"]),
                r["stock_median_s"],
                min(r["stock_samples_s"]),
                f"{r['ratio_median_ours_vs_stock']:.3f}",
                "MET" if r["target_met"] else "NOT MET",
            ]
        )
    placed = [
        f"{engine} nodes: "
        + "; ".join(
            f"{arm} {json.dumps(counts, sort_keys=True)}" for arm, counts in r["nodes"].items()
        )
        for engine, r in results["engines"].items()
        if r.get("nodes")
    ]
    return "\n".join(
        [
            table(
                f"Spawn-to-ready through engines, {results['spawns']} interleaved spawns per arm "
                f"(seconds; target ours/stock median {results['target']})",
                ["engine", "ours p50", "ours min", "stock p50", "stock min", "ratio", "target"],
                rows,
            ),
            *placed,
        ]
    )
