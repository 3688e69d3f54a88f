"""The GPU-node roles converged for real on this machine, one temporary root per node of
the example inventory, with a fake nvidia-smi per node (no GPU here): mig_layout applies
the site file's layout and is idempotent; mps and Slurm derive their configuration
from the same site file and agree with the hub's inventory of it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

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
    root, _, _ = nodes
    types = yaml.safe_load((ROLES / "slurm" / "defaults" / "main.yml").read_text())[
        "slurm_gres_types"
    ]
    confs = {name: (root / name / "etc/slurm/slurm.conf").read_text() for name in NODES}
    assert len(set(confs.values())) == 1, "slurm.conf must be identical on every host"
    declared = _slurm_nodes(confs[NODES[0]])
    assert sorted(declared) == sorted(NODES)
    for name in NODES:
        want: Counter[str] = Counter()
        mps = 0
        for gpu in declared_inventory(SITE["gpus"]).gpus:
            if gpu.node != name:
                continue
            if gpu.mode.value == "mps":
                mps += 100
            elif gpu.mode.value == "whole":
                want[types["gpu"]] += 1
            for inst in gpu.instances:
                want[types[inst.profile]] += 1
        gres = dict(
            (part.rsplit(":", 1)[0], int(part.rsplit(":", 1)[1]))
            for part in declared[name]["Gres"].split(",")
        )
        assert gres == {**{f"gpu:{t}": n for t, n in want.items()}, **({"mps": mps} if mps else {})}


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


def test_slurm_gres_types_cover_every_slice_of_a_gpu():
    types = yaml.safe_load((ROLES / "slurm" / "defaults" / "main.yml").read_text())[
        "slurm_gres_types"
    ]
    assert set(types) == set(FILTER.H100_80GB_PROFILES) | {"gpu"}
