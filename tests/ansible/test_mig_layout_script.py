"""sandbox-mig-layout (the mig_layout role's node script) against a fake nvidia-smi
that keeps H100 MIG state in a file and refuses what the real one refuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from .conftest import EXAMPLE_SITE, FAKES, ROLES
from .test_mig_layout_agrees import FILTER

SCRIPT = ROLES / "mig_layout" / "files" / "sandbox_mig_layout.py"
SITE = yaml.safe_load(EXAMPLE_SITE.read_text())


def gpu(mig="Disabled", gis=(), procs=(), needs_reset=False):
    gis = [{"gi": n + 1, "profile_id": p, "start": s} for n, (p, s) in enumerate(gis)]
    return {
        "mig": mig,
        "pending": mig,
        "needs_reset": needs_reset,
        "gis": gis,
        "cis": [{"gi": g["gi"], "ci": 0} for g in gis],
        "procs": list(procs),
    }


class Node:
    """A fake node: its nvidia-smi state and the role's plan for it."""

    def __init__(self, tmp, name, gpus, site=None):
        self.tmp = tmp
        self.state_path = tmp / "state.json"
        self.state_path.write_text(json.dumps({"gpus": gpus, "calls": []}))
        self.plan_path = tmp / "plan.json"
        self.plan_path.write_text(json.dumps(FILTER.mig_layout_node(site or SITE, name)))

    def run(self, *args):
        env = {
            **os.environ,
            "PATH": f"{FAKES}:{os.environ['PATH']}",
            "FAKE_NVIDIA_SMI_STATE": str(self.state_path),
        }
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    @property
    def state(self):
        return json.loads(self.state_path.read_text())

    def created(self, index):
        return [c.split()[-1] for c in self.state["calls"] if c.startswith(f"mig -i {index} -cgi")]


@pytest.fixture
def gpu02(tmp_path):
    # gpu02 of the example: GPU 0 MIG (mixed), GPU 1 MPS, GPU 2 whole; all start wrong.
    return Node(
        tmp_path,
        "gpu02",
        {"0": gpu(), "1": gpu(mig="Enabled", gis=[(0, 0)]), "2": gpu(mig="Enabled")},
    )


def test_apply_brings_the_node_to_the_plan_largest_first(gpu02):
    assert gpu02.run("status", str(gpu02.plan_path)).returncode == 2
    applied = gpu02.run("apply", str(gpu02.plan_path))
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout) == {"changed": True, "gpus": [0, 1, 2]}
    # 3g.40gb at 4 first, then 2g.20gb at 0, then the 1g.10gb (profile id:start).
    assert gpu02.created(0) == ["9:4", "14:0", "19:2", "19:3"]
    state = gpu02.state["gpus"]
    assert [state[i]["mig"] for i in "012"] == ["Enabled", "Disabled", "Disabled"]
    assert gpu02.run("status", str(gpu02.plan_path)).returncode == 0


def test_second_apply_changes_nothing(gpu02):
    assert gpu02.run("apply", str(gpu02.plan_path)).returncode == 0
    calls = gpu02.state["calls"]
    again = gpu02.run("apply", str(gpu02.plan_path))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["changed"] is False
    assert gpu02.state["calls"] == calls


def test_busy_gpu_is_never_repartitioned(tmp_path):
    node = Node(
        tmp_path,
        "gpu02",
        {
            "0": gpu(mig="Enabled", gis=[(0, 0)], procs=["4242, python"]),
            "1": gpu(),
            "2": gpu(mig="Enabled"),
        },
    )
    refused = node.run("apply", str(node.plan_path))
    assert refused.returncode == 3
    assert "running processes" in refused.stderr and "4242" in refused.stderr
    # Nothing at all was touched, not even the idle GPU 2 that also differs.
    assert node.state["calls"] == []


def test_busy_gpu_that_already_matches_is_left_alone(tmp_path):
    node = Node(tmp_path, "gpu02", {"0": gpu(), "1": gpu(), "2": gpu()})
    assert node.run("apply", str(node.plan_path)).returncode == 0
    state = node.state
    state["gpus"]["0"]["procs"] = ["4242, python"]
    node.state_path.write_text(json.dumps(state))
    again = node.run("apply", str(node.plan_path))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["changed"] is False


def test_wrong_existing_layout_is_replaced(tmp_path):
    # gpu01 GPU 1 wants seven 1g.10gb; it has one 7g.80gb.
    node = Node(tmp_path, "gpu01", {"0": gpu(), "1": gpu(mig="Enabled", gis=[(0, 0)])})
    assert node.run("apply", str(node.plan_path)).returncode == 0
    calls = [c for c in node.state["calls"] if c.startswith("mig -i 1")]
    assert calls[:2] == ["mig -i 1 -dci", "mig -i 1 -dgi"]
    assert node.created(1) == [f"19:{s}" for s in range(7)]


def test_pending_mig_mode_is_completed_by_a_reset_of_the_idle_gpu(tmp_path):
    node = Node(tmp_path, "gpu01", {"0": gpu(needs_reset=True), "1": gpu(needs_reset=True)})
    assert node.run("apply", str(node.plan_path)).returncode == 0
    assert "-i 0 -r" in node.state["calls"]
    assert node.run("status", str(node.plan_path)).returncode == 0


def _hub_type(device: str):  # noqa: ANN202
    """slice -> the gres type the hub's Slurm backend requests on a GPU NVML names so."""
    from spawners.backends.slurm_script import gres_for_slice

    return lambda name: gres_for_slice(name, device_name=device).split(":")[1]


def _slurm_gres_types():
    defaults = yaml.safe_load((ROLES / "slurm" / "defaults" / "main.yml").read_text())
    return defaults["slurm_gres_types"]


def test_gres_conf_names_each_mig_instance_by_its_device_files(gpu02, tmp_path):
    assert gpu02.run("apply", str(gpu02.plan_path)).returncode == 0
    types = tmp_path / "types.json"
    types.write_text(json.dumps(_slurm_gres_types()))
    minors = tmp_path / "mig-minors"
    lines = []
    caps = tmp_path / "caps"
    caps.mkdir()
    for gi in range(1, 5):
        lines += [f"gpu0/gi{gi}/access {100 + 2 * gi}", f"gpu0/gi{gi}/ci0/access {101 + 2 * gi}"]
        for minor in (100 + 2 * gi, 101 + 2 * gi):
            (caps / f"nvidia-cap{minor}").touch()  # the driver's device nodes
    minors.write_text("config 1\nmonitor 2\n" + "\n".join(lines) + "\n")
    out = tmp_path / "gres.conf"
    args = ["gres-conf", str(gpu02.plan_path), "--types", str(types), "--out", str(out)]
    args += ["--mig-minors", str(minors), "--caps-dir", str(caps)]
    first = gpu02.run(*args)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["changed"] is True
    body = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    # GIs were created 3g.40gb (gi 1, slot 4), 2g.20gb (gi 2, slot 0), 1g.10gb (gi 3, 4).
    # Types: what the hub's Slurm backend requests for each slice on an H100 80GB.
    nv = _hub_type("NVIDIA H100 80GB HBM3")
    assert body == [
        f"NodeName=gpu02 Name=gpu Type={nv('2g.20gb')} MultipleFiles=/dev/nvidia0,{caps}/nvidia-cap104,{caps}/nvidia-cap105",
        f"NodeName=gpu02 Name=gpu Type={nv('1g.10gb')} MultipleFiles=/dev/nvidia0,{caps}/nvidia-cap106,{caps}/nvidia-cap107",
        f"NodeName=gpu02 Name=gpu Type={nv('1g.10gb')} MultipleFiles=/dev/nvidia0,{caps}/nvidia-cap108,{caps}/nvidia-cap109",
        f"NodeName=gpu02 Name=gpu Type={nv('3g.40gb')} MultipleFiles=/dev/nvidia0,{caps}/nvidia-cap102,{caps}/nvidia-cap103",
        "NodeName=gpu02 Name=mps Count=100 File=/dev/nvidia1",
        f"NodeName=gpu02 Name=gpu Type={nv('gpu')} File=/dev/nvidia2",
    ]
    assert nv("1g.10gb") == "nvidia_h100_80gb_hbm3_1g.10gb"  # AutoDetect=nvml's name
    assert nv("gpu") == "nvidia_h100_80gb_hbm3"
    again = gpu02.run(*args)
    assert json.loads(again.stdout)["changed"] is False


def test_gres_conf_refuses_a_node_that_differs_from_the_plan(gpu02, tmp_path):
    types = tmp_path / "types.json"
    types.write_text(json.dumps(_slurm_gres_types()))
    refused = gpu02.run(
        "gres-conf", str(gpu02.plan_path), "--types", str(types), "--out", str(tmp_path / "g")
    )
    assert refused.returncode == 3
    assert "differs from the plan" in refused.stderr
    assert not (tmp_path / "g").exists()


# A node with an H100 80GB and an H200: the same profile ids, each model's own names.
MIXED_SITE = {
    "gpus": {
        "source": "declared",
        "nodes": [
            {
                "name": "mixed",
                "gpus": [
                    {"index": 0, "mode": "mig", "layout": [{"profile": "3g.40gb", "start": 0}]},
                    {
                        "index": 1,
                        "mode": "mig",
                        "model": "h200-141gb",
                        "layout": [
                            {"profile": "1g.18gb", "start": 6},
                            {"profile": "1g.35gb", "start": 4},
                            {"profile": "3g.71gb", "start": 0},
                        ],
                    },
                ],
            }
        ],
    }
}


def _model_gpu(model, **kw):
    out = gpu(**kw)
    if model:
        out["model"] = model
    return out


def test_a_mixed_node_gets_each_models_profiles(tmp_path):
    node = Node(
        tmp_path,
        "mixed",
        {"0": _model_gpu(None), "1": _model_gpu("h200-141gb")},
        site=MIXED_SITE,
    )
    applied = node.run("apply", str(node.plan_path))
    assert applied.returncode == 0, applied.stderr
    assert node.created(0) == ["9:0"]
    # Largest first: 3g.71gb at 0, then 1g.35gb at 4, then 1g.18gb at 6.
    assert node.created(1) == ["9:0", "15:4", "19:6"]
    assert node.run("status", str(node.plan_path)).returncode == 0

    # gres.conf names each model's instances as the hub's Slurm backend requests them.
    types = tmp_path / "types.json"
    types.write_text(json.dumps(_slurm_gres_types()))
    caps = tmp_path / "caps"
    caps.mkdir()
    lines = []
    for index in (0, 1):
        for gi in range(1, 4):
            base = 100 + 20 * index + 2 * gi
            lines += [
                f"gpu{index}/gi{gi}/access {base}",
                f"gpu{index}/gi{gi}/ci0/access {base + 1}",
            ]
            (caps / f"nvidia-cap{base}").touch()
            (caps / f"nvidia-cap{base + 1}").touch()
    minors = tmp_path / "mig-minors"
    minors.write_text("\n".join(lines) + "\n")
    out = tmp_path / "gres.conf"
    args = ["gres-conf", str(node.plan_path), "--types", str(types), "--out", str(out)]
    made = node.run(*args, "--mig-minors", str(minors), "--caps-dir", str(caps))
    assert made.returncode == 0, made.stderr
    kinds = sorted(
        line.split()[2].removeprefix("Type=")
        for line in out.read_text().splitlines()
        if not line.startswith("#")
    )
    h100, h200 = _hub_type("NVIDIA H100 80GB HBM3"), _hub_type("NVIDIA H200")
    assert kinds == sorted([h100("3g.40gb"), h200("3g.71gb"), h200("1g.35gb"), h200("1g.18gb")])
    assert h200("1g.18gb") == "nvidia_h200_1g.18gb"


def test_a_gpu_of_another_model_than_declared_is_reported(tmp_path):
    # The site file says GPU 1 is an H200, the node's GPU 1 is an H100: the profile ids
    # agree, the names do not, and the script says so instead of leaving 1g.10gb
    # instances the hub would hand out as 1g.18gb.
    node = Node(tmp_path, "mixed", {"0": _model_gpu(None), "1": _model_gpu(None)}, site=MIXED_SITE)
    applied = node.run("apply", str(node.plan_path))
    assert applied.returncode == 1
    assert "is a 1g.10gb, the plan wants 1g.18gb" in applied.stderr
    assert "h200-141gb the site file declares" in applied.stderr
    status = node.run("status", str(node.plan_path))
    assert status.returncode == 2 and "the plan wants 3g.71gb" in status.stdout
