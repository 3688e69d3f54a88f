"""Spawn-to-ready through real engines: our Slurm and Docker backends against stock
batchspawner SlurmSpawner and dockerspawner DockerSpawner, in the same run.

Per engine, two hubs run side by side on one private engine (a Slurm cluster of one node
with fake MIG devices; a private dockerd with the fake NVIDIA hook, see tests/support and
tests/backends/docker_images.py): ours (hub_config/jupyterhub_config.py with a site for
that backend) and stock (bench/stock_engines_config.py, configured by hand to request the
same gres or device, limits, image and network). Spawns are interleaved; each is POST,
then GET every 20 ms until ready, then DELETE and wait until gone."""

from __future__ import annotations

import contextlib
import os
import pwd
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .hub import POLL_S, Hub, HubError, ours_hub, stock_hub
from .report import median, table

SPAWNS = 10
TARGET_RATIO = 1.05
USER = "sbxbench"
SLICE = "1g.10gb"
NV = "nvidia_h100_80gb_hbm3_"
SHAPE = {"cpus_per_gpu": 7, "memory_gb_per_gpu": 7, "cpu_slice_cpus": 1, "cpu_slice_memory_gb": 1}


def _site(kind: str, extra: str) -> str:
    shape = ", ".join(f"{k}: {v}" for k, v in SHAPE.items())
    return f"""
site: {{name: Engines benchmark}}
hub:
  start_timeout: 90
  http_timeout: 60
  backend:
    kind: {kind}
    host_share: {{{shape}}}
{extra}
gpus: {{source: simulated, simulated_count: 1}}
"""


def _ours(tmp: Path, site_text: str, env: dict[str, str]) -> Hub:
    site = tmp / "ours-site.yaml"
    site.write_text(site_text)
    return ours_hub(tmp, SANDBOX_SITE=str(site), **env)


def _stock(tmp: Path, avoid: range, env: dict[str, str]) -> Hub:
    return stock_hub(tmp, avoid, config="stock_engines_config.py", **env)


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


def _spawn_once(hub: Hub, body: dict | None) -> float:
    t0 = time.perf_counter()
    status, answer = hub.request("POST", f"/users/{USER}/server", body)
    if status not in (201, 202):
        raise HubError(f"{hub.name}: spawn -> {status} {answer}\n{hub.log_tail(40)}")
    _wait(hub, lambda b: (b.get("servers", {}).get("") or {}).get("ready"), "ready", 120)
    spawned = time.perf_counter() - t0
    status, answer = hub.request("DELETE", f"/users/{USER}/server")
    if status not in (202, 204):
        raise HubError(f"{hub.name}: stop -> {status} {answer}")
    _wait(hub, lambda b: "" not in b.get("servers", {}), "stopped", 60)
    return spawned


def _compare(ours: Hub, stock: Hub, spawns: int) -> dict[str, list[float]]:
    arms = {"ours": (ours, {"image": "base", "slice": SLICE}), "stock": (stock, None)}
    samples: dict[str, list[float]] = {"ours": [], "stock": []}
    try:
        for hub, _ in arms.values():
            hub.start()
            status, answer = hub.request("POST", f"/users/{USER}")
            if status not in (201, 409):
                raise HubError(f"{hub.name}: create user -> {status} {answer}")
        for hub, body in arms.values():  # warm-up, not counted
            _spawn_once(hub, body)
        for i in range(spawns):
            for name in list(arms) if i % 2 == 0 else list(reversed(arms)):
                samples[name].append(_spawn_once(*arms[name]))
    finally:
        for hub, _ in arms.values():
            with contextlib.suppress(Exception):
                hub.request("DELETE", f"/users/{USER}/server")
            hub.stop()
    return samples


@contextlib.contextmanager
def _slurm_arms(tmp: Path) -> Iterator[tuple[Hub, Hub]]:
    from spawners.backends.resources import NodeShape, host_share
    from tests.support.slurm import SlurmCluster

    share = host_share(SLICE, NodeShape.from_site(SHAPE))
    with SlurmCluster.start({f"{NV}{SLICE}": 2}, cpus=16, memory_mb=32768) as cluster:
        # The one node is this host: its servers reach the hub at 127.0.0.1.
        extra = (
            f"    slurm: {{partition: gpu, gres_types: {{{SLICE}: {NV}{SLICE}}},"
            f" node_addresses: {{{cluster.node}: 127.0.0.1}}}}\n"
        )
        conf = {"SLURM_CONF": str(cluster.conf)}
        ours = _ours(tmp, _site("slurm", extra), conf)
        stock = _stock(
            tmp,
            range(ours.port, ours.port + 4),
            {
                "BENCH_ENGINE": "slurm", "BENCH_GRES": f"gpu:{NV}{SLICE}:1",
                "BENCH_CPUS": str(share.whole_cpus), "BENCH_MEM_MIB": str(share.memory_mib),
                **conf,
            },
        )  # fmt: skip
        yield ours, stock


@contextlib.contextmanager
def _docker_arms(tmp: Path) -> Iterator[tuple[Hub, Hub]]:
    from spawners.backends.resources import NodeShape, host_share
    from tests.backends.docker_images import (
        SERVER_TAG,
        build_test_images,
        install_fake_nvidia_hook,
    )
    from tests.support.dockerd import DockerDaemon

    share = host_share(SLICE, NodeShape.from_site(SHAPE))
    models = tmp / "models"
    models.mkdir(mode=0o755)
    install_fake_nvidia_hook(tmp / "hook")
    saved_path = os.environ["PATH"]
    os.environ["PATH"] = f"{tmp / 'hook'}:{saved_path}"  # dockerd finds the hook at start
    try:
        daemon_cm = DockerDaemon.start()
        daemon = daemon_cm.__enter__()
    finally:
        os.environ["PATH"] = saved_path
    try:
        build_test_images(daemon)
        host = {"DOCKER_HOST": daemon.env["DOCKER_HOST"]}
        extra = (
            f"    model_store: {models}\n    docker: {{network: host, gpu_device_requests: true}}\n"
        )
        ours = _ours(tmp, _site("docker", extra), host)
        stock = _stock(
            tmp,
            range(ours.port, ours.port + 4),
            {
                "BENCH_ENGINE": "docker", "BENCH_IMAGE": SERVER_TAG,
                "BENCH_DEVICE": "MIG-00000000-0000-0000-0000-000000000000",
                "BENCH_MEM_BYTES": str(share.memory_bytes), "BENCH_CPU_LIMIT": str(share.cpus),
                "BENCH_MODELS": str(models), **host,
            },
        )  # fmt: skip
        yield ours, stock
    finally:
        daemon_cm.__exit__(None, None, None)


ENGINES = {"slurm": _slurm_arms, "docker": _docker_arms}


def _ensure_user() -> None:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)


def run(spawns: int = SPAWNS, engines: tuple[str, ...] = tuple(ENGINES)) -> dict[str, Any]:
    if os.geteuid() != 0:
        raise HubError("the engines benchmark runs Slurm and dockerd: run it as root")
    _ensure_user()
    results: dict[str, Any] = {"spawns": spawns, "slice": SLICE, "engines": {}}
    for engine in engines:
        with tempfile.TemporaryDirectory(prefix=f"bench-{engine}-") as tmp:
            os.chmod(tmp, 0o755)
            with ENGINES[engine](Path(tmp)) as (ours, stock):
                samples = _compare(ours, stock, spawns)
        ratio = median(samples["ours"]) / median(samples["stock"])
        results["engines"][engine] = {
            "ours_median_s": median(samples["ours"]),
            "stock_median_s": median(samples["stock"]),
            "ours_samples_s": samples["ours"],
            "stock_samples_s": samples["stock"],
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
    return table(
        f"Spawn-to-ready through engines, {results['spawns']} interleaved spawns per arm "
        f"(seconds; target ours/stock {results['target']})",
        ["engine", "ours median", "ours min", "stock median", "stock min", "ratio", "target"],
        rows,
    )
