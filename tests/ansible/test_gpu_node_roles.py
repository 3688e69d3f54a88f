"""The GPU-node roles converged for real on this machine, one temporary root per node of
the example inventory, with a fake nvidia-smi per node (no GPU here): mig_layout applies
the site file's layout and is idempotent; mps and Slurm derive their configuration
from the same site file and agree with the hub's inventory of it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

from hub_config.site import load_site
from spawners.core.profiles import MPS_SHARES
from spawners.inventory.declared import declared_inventory, layout_plan

from .conftest import (
    EXAMPLE_INVENTORY,
    EXAMPLE_SITE,
    FAKES,
    PLAYBOOKS,
    REPO,
    ROLES,
    require,
    run_playbook,
)
from .test_mig_layout_agrees import FILTER

SITE = load_site(EXAMPLE_SITE, env={})
NODES = [n["name"] for n in SITE["gpus"]["nodes"]]


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gpu-nodes")
    root = tmp / "nodes"
    for node in SITE["gpus"]["nodes"]:
        (root / node["name"]).mkdir(parents=True)
        gpus = {
            str(g["index"]): {
                "mig": "Disabled",
                "pending": "Disabled",
                "gis": [],
                "cis": [],
                "procs": [],
            }
            for g in node["gpus"]
        }
        (root / node["name"] / "nvidia-smi.json").write_text(
            json.dumps({"gpus": gpus, "calls": []})
        )
    args = ["-e", f"node_root={root}", "-e", f"fakes_dir={FAKES}"]
    args += ["-e", f"ansible_python_interpreter={sys.executable}"]
    playbook = PLAYBOOKS / "converge_gpu_nodes.yml"
    first = run_playbook(playbook, tmp, str(EXAMPLE_INVENTORY), *args)
    second = run_playbook(playbook, tmp, str(EXAMPLE_INVENTORY), *args)
    return root, first, second


def test_second_converge_changes_nothing(nodes):
    _, first, second = nodes
    assert first.changed > 0
    assert second.changed == 0, second.tail


def test_nodes_carry_the_site_files_layout_created_largest_first(nodes):
    root, _, _ = nodes
    hub_plan = layout_plan(SITE["gpus"])
    for name in NODES:
        state = json.loads((root / name / "nvidia-smi.json").read_text())
        plan = FILTER.mig_layout_node(SITE.doc, name)
        ids = {p: e[0] for p, e in FILTER.H100_80GB_PROFILES.items()}
        for gpu in plan["gpus"]:
            have = state["gpus"][str(gpu["index"])]
            want_mig = "Enabled" if gpu["mode"] == "mig" else "Disabled"
            assert have["mig"] == want_mig, (name, gpu["index"])
            assert sorted((g["profile_id"], g["start"]) for g in have["gis"]) == sorted(
                (ids[i["profile"]], i["start"]) for i in gpu["instances"]
            )
        # The order the instances were created in is the hub's layout_plan order.
        created = [c.split() for c in state["calls"] if " -cgi " in c]
        by_id = {e[0]: p for p, e in FILTER.H100_80GB_PROFILES.items()}
        steps = [
            {
                "gpu": int(c[2]),
                "profile": by_id[int(c[4].split(":")[0])],
                "start": int(c[4].split(":")[1]),
            }
            for c in created
        ]
        assert steps == hub_plan[name]


def test_boot_unit_passes_systemd_analyze_verify(nodes):
    analyze = require("systemd-analyze", "checks the role's unit files")
    root, _, _ = nodes
    unit = root / "gpu01" / "etc/systemd/system/sandbox-mig-layout.service"
    text = unit.read_text()
    assert "Before=slurmd.service jupyterhub.service" in text
    proc = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, check=False
    )
    remarks = [line for line in proc.stderr.splitlines() if unit.name in line]
    assert proc.returncode == 0 and not remarks, proc.stderr


def test_mps_daemons_for_the_mps_gpus_only_with_the_smallest_share_as_default(nodes):
    root, _, _ = nodes
    assert not list((root / "gpu01" / "etc/sandbox/mps").glob("*.env"))
    envs = sorted(p.name for p in (root / "gpu02" / "etc/sandbox/mps").glob("*.env"))
    assert envs == ["gpu1.env"]  # gpu02's GPU 1 is the example's MPS GPU
    env = dict(
        line.split("=", 1)
        for line in (root / "gpu02/etc/sandbox/mps/gpu1.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    smallest = min(MPS_SHARES, key=lambda s: s.memory_gb)
    assert env["SANDBOX_MPS_DEFAULT_THREADS"] == str(smallest.mps_thread_percentage)
    assert env["SANDBOX_MPS_DEFAULT_MEMORY"] == f"{smallest.memory_gb}G"
    assert env["CUDA_MPS_PIPE_DIRECTORY"] == "/run/nvidia-mps/1"
    assert (root / "gpu02/etc/systemd/system/nvidia-mps@.service").exists()


def test_mps_role_shares_are_the_hubs():
    defaults = yaml.safe_load((ROLES / "mps" / "defaults" / "main.yml").read_text())
    hub = {
        s.name: {
            "active_thread_percentage": s.mps_thread_percentage,
            "pinned_memory_gb": s.memory_gb,
        }
        for s in MPS_SHARES
    }
    assert defaults["mps_shares"] == hub


def _slurm_nodes(conf: str) -> dict[str, dict[str, str]]:
    nodes = {}
    for line in conf.splitlines():
        if line.startswith("NodeName="):
            fields = dict(f.split("=", 1) for f in line.split())
            nodes[fields["NodeName"]] = fields
    return nodes


def test_slurm_gres_counts_are_the_hubs_inventory(nodes):
    """Each node's Gres= counts, under the very type names the hub's Slurm backend
    requests for each slice on that GPU's model."""
    from spawners.backends.slurm_script import gres_for_slice

    root, _, _ = nodes
    confs = {name: (root / name / "etc/slurm/slurm.conf").read_text() for name in NODES}
    assert len(set(confs.values())) == 1, "slurm.conf must be identical on every host"
    declared = _slurm_nodes(confs[NODES[0]])
    assert sorted(declared) == sorted(NODES)
    inventory = declared_inventory(SITE["gpus"])
    for name in NODES:
        want: Counter[str] = Counter()
        mps = 0
        for gpu in inventory.gpus:
            if gpu.node != name:
                continue
            device = inventory.device_name(gpu.uuid)
            if gpu.mode.value == "mps":
                mps += 100
            elif gpu.mode.value == "whole":
                want[gres_for_slice("gpu", device_name=device).rsplit(":", 1)[0]] += 1
            for inst in gpu.instances:
                want[gres_for_slice(inst.profile, device_name=device).rsplit(":", 1)[0]] += 1
        gres = dict(
            (part.rsplit(":", 1)[0], int(part.rsplit(":", 1)[1]))
            for part in declared[name]["Gres"].split(",")
        )
        assert gres == {**want, **({"mps": mps} if mps else {})}


def test_slurm_partitions_one_per_team_kind(nodes):
    root, _, _ = nodes
    conf = (root / NODES[0] / "etc/slurm/slurm.conf").read_text()
    parts = [
        dict(f.split("=", 1) for f in line.split())
        for line in conf.splitlines()
        if line.startswith("PartitionName=")
    ]
    assert sorted(p["PartitionName"] for p in parts) == ["course", "staff", "startup"]
    assert all(p["QOS"] == p["PartitionName"] for p in parts)
    assert "ConstrainDevices=yes" in (root / NODES[0] / "etc/slurm/cgroup.conf").read_text()


def test_slurm_gres_of_every_model_are_the_hubs():
    """The role's filter names every catalogue model's MIG devices and whole GPUs as the
    hub requests them; a site's slurm_gres_types entry replaces that on every model."""
    import importlib.util

    from spawners.backends.slurm_script import gres_for_slice
    from spawners.core.gpu_models import GPU_MODELS

    path = ROLES / "slurm" / "filter_plugins" / "slurm_gres.py"
    spec = importlib.util.spec_from_file_location("slurm_gres_filter", path)
    gres = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gres)
    for model in GPU_MODELS:
        for device in (model.key, *model.device_names):
            layout = [{"profile": model.profiles[0].name, "start": 0}]
            site = {
                "gpus": {
                    "nodes": [
                        {
                            "name": "n",
                            "gpus": [
                                {"index": 0, "mode": "mig", "model": device, "layout": layout},
                                {"index": 1, "mode": "whole", "model": device},
                            ],
                        }
                    ]
                }
            }
            nvml = device if device in model.device_names else model.nvml_name
            want = sorted(
                gres_for_slice(name, device_name=nvml) for name in (layout[0]["profile"], "gpu")
            )
            assert sorted(gres.slurm_node_gres(site, "n", {}).split(",")) == want
            assert "gpu:big:1" in gres.slurm_node_gres(site, "n", {"gpu": "big"}).split(",")
    assert (
        yaml.safe_load((ROLES / "slurm" / "defaults" / "main.yml").read_text())["slurm_gres_types"]
        == {}
    )


# --- MPS: the folders the role creates are the ones every backend hands a server --------

MPS_PIPES, MPS_LOGS = "/srv/sandbox-mps/pipes", "/srv/sandbox-mps/logs"
BACKENDS = {
    "local": {"kind": "local"},
    "docker": {"kind": "docker", "docker": {"network": "host"}},
    "slurm": {"kind": "slurm", "slurm": {"submit_as_user": False}},
}


def _moved_mps_site(tmp, backend: dict, prefix=None) -> Path:  # noqa: ANN001
    """The example site file with gpus.mps moved off its defaults, on one backend."""
    doc = yaml.safe_load(EXAMPLE_SITE.read_text())
    doc["gpus"]["mps"] = {"pipe_directory": MPS_PIPES, "log_directory": MPS_LOGS}
    doc["hub"]["backend"] = dict(backend)
    if backend["kind"] != "local":
        doc["hub"]["internal_url"] = "http://10.0.0.10"  # head01, as the nodes reach it
    if prefix is not None:
        doc["hub"]["backend"]["slurm"]["default_prefix"] = str(prefix)
    path = tmp / f"site-{backend['kind']}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def mps_nodes(tmp_path_factory):
    """The mps role converged for the example nodes with that site file."""
    tmp = tmp_path_factory.mktemp("mps-nodes")
    site = _moved_mps_site(tmp, BACKENDS["local"])
    root = tmp / "nodes"
    args = ["-e", f"node_root={root}", "-e", f"mps_site_file={site}"]
    args += ["-e", f"ansible_python_interpreter={sys.executable}"]
    run_playbook(PLAYBOOKS / "converge_mps.yml", tmp, str(EXAMPLE_INVENTORY), *args)
    return root


def _created(root: Path, node: str) -> dict[str, set[str]]:
    """The folders the role created on a node, as the node sees them (root stripped)."""
    return {
        kind: {
            "/" + str(p.relative_to(root / node))
            for p in (root / node / base.lstrip("/")).glob("*")
            if p.is_dir()
        }
        for kind, base in (("pipes", MPS_PIPES), ("logs", MPS_LOGS))
    }


def _mps_record(ctx, engine: str):  # noqa: ANN001, ANN202
    return ctx.ledger.reserve(
        user="root", server_name="", image="base", slice_name="mps.20gb",
        inventory=ctx.inventory, epoch=ctx.epoch, engine=engine,
    )  # fmt: skip


def _backend(tmp, kind: str, prefix=None):  # noqa: ANN001, ANN202
    """The spawner production configures for the moved site on one backend, holding an
    MPS share reserved through its ledger (the example's MPS GPU: gpu02, GPU 1)."""
    from traitlets.config import Config

    from hub_config.wiring import configure
    from tests.backends import inprocess

    site = load_site(_moved_mps_site(tmp, BACKENDS[kind], prefix), env={})
    c = Config()
    ctx = configure(c, site, env={"SANDBOX_DATA": str(tmp / f"data-{kind}")})
    ctx.ledger.create_schema()  # what the hub's start-up does before any spawn
    spawner = c.JupyterHub.spawner_class(config=c, user=inprocess.user("root"), hub=inprocess.hub())
    spawner.allocation = _mps_record(ctx, kind)
    assert spawner.allocation.node == "gpu02"  # the example's one MPS GPU: gpu02's GPU 1
    return spawner


def test_mps_role_creates_the_folders_of_the_site_files_mps_gpus(mps_nodes):
    assert _created(mps_nodes, "gpu01") == {"pipes": set(), "logs": set()}
    assert _created(mps_nodes, "gpu02") == {"pipes": {f"{MPS_PIPES}/1"}, "logs": {f"{MPS_LOGS}/1"}}
    env = dict(
        line.split("=", 1)
        for line in (mps_nodes / "gpu02/etc/sandbox/mps/gpu1.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert (env["CUDA_MPS_PIPE_DIRECTORY"], env["CUDA_MPS_LOG_DIRECTORY"]) == (
        f"{MPS_PIPES}/1",
        f"{MPS_LOGS}/1",
    )
    unit = (mps_nodes / "gpu02/etc/systemd/system/nvidia-mps@.service").read_text()
    assert f"install -d -o root -g root -m 0755 {MPS_PIPES}/%i {MPS_LOGS}/%i" in unit


def test_local_server_gets_the_folders_the_role_created(mps_nodes, tmp_path):
    created = _created(mps_nodes, "gpu02")
    env = _backend(tmp_path, "local").get_env()
    assert {env["CUDA_MPS_PIPE_DIRECTORY"]} == created["pipes"]
    assert {env["CUDA_MPS_LOG_DIRECTORY"]} == created["logs"]


def test_docker_mounts_exactly_the_pipe_folder_the_role_created(mps_nodes, tmp_path):
    created = _created(mps_nodes, "gpu02")
    spawner = _backend(tmp_path, "docker")
    spec = spawner.container_spec(spawner.allocation)
    (pipes,) = created["pipes"]
    mps_mounts = {k: v for k, v in spec.volumes.items() if k.startswith("/srv/sandbox-mps")}
    assert mps_mounts == {pipes: {"bind": pipes, "mode": "rw"}}
    assert spec.environment["CUDA_MPS_PIPE_DIRECTORY"] == pipes
    assert {spec.environment["CUDA_MPS_LOG_DIRECTORY"]} == created["logs"]
    assert spec.ipc_mode == "host"


def test_slurm_job_exports_on_each_node_the_folders_the_role_created(mps_nodes, tmp_path):
    """The batch script itself, run as slurmd would run it on each node (its name in
    SLURMD_NODENAME): on gpu02 the server starts with gpu02's folders; on gpu01, which
    has no MPS GPU, the job stops with a message instead of running without its daemon."""
    import os
    import subprocess

    from spawners.backends.slurm_script import render_batch_script

    prefix = tmp_path / "prefix"
    (prefix / "bin").mkdir(parents=True)
    fake = prefix / "bin" / "batchspawner-singleuser"
    fake.write_text('#!/bin/sh\nenv > "$SEEN"\n')
    fake.chmod(0o755)
    spawner = _backend(tmp_path, "slurm", prefix)
    script = tmp_path / "job.sh"
    script.write_text(render_batch_script(spawner.build_job(spawner.allocation)))
    seen = tmp_path / "seen.env"

    def run(node: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "SLURMD_NODENAME": node, "SEEN": str(seen)}
        return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)

    assert run("gpu02").returncode == 0
    job_env = dict(line.split("=", 1) for line in seen.read_text().splitlines() if "=" in line)
    created = _created(mps_nodes, "gpu02")
    assert {job_env["CUDA_MPS_PIPE_DIRECTORY"]} == created["pipes"]
    assert {job_env["CUDA_MPS_LOG_DIRECTORY"]} == created["logs"]
    other = run("gpu01")
    assert other.returncode == 1 and "declares no MPS GPU on node gpu01" in other.stderr


def test_mps_role_fallbacks_are_the_hubs_defaults():
    defaults = yaml.safe_load((ROLES / "mps" / "defaults" / "main.yml").read_text())
    hub = yaml.safe_load((REPO / "hub_config" / "defaults.yaml").read_text())["gpus"]["mps"]
    assert f"default('{hub['pipe_directory']}', true)" in defaults["mps_pipe_directory"]
    assert f"default('{hub['log_directory']}', true)" in defaults["mps_log_directory"]
