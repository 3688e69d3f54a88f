"""The mig_layout role and the hub read the same site file and agree on the layout.

The role's plan is rendered by Ansible itself (a plan-only run of the role over the
example inventory, with the inventory's own variables), then compared with the hub's
static inventory (`declared_inventory`) and its creation order (`layout_plan`) of the
same file as loaded by the hub's loader. A property test then checks that the role's
filter accepts exactly the layouts the hub accepts, and orders them the same way, on
every GPU model of the catalogue (the profiles follow the GPU's model)."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub_config.site import DEFAULTS_PATH, SiteError, deep_merge, load_site, validate
from spawners.core.gpu_models import (
    GPU_MODELS,
    device_name_of,
    model_for_device,
    slurm_gres_type,
)
from spawners.core.profiles import H100_MIG_PROFILES, catalogue_table
from spawners.inventory.declared import declared_inventory, layout_plan

from .conftest import EXAMPLE_INVENTORY, EXAMPLE_SITE, PLAYBOOKS, ROLES, run_playbook


def _load_filter():
    path = ROLES / "mig_layout" / "filter_plugins" / "mig_layout.py"
    spec = importlib.util.spec_from_file_location("mig_layout_filter", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FILTER = _load_filter()


@pytest.fixture(scope="module")
def role_plans(tmp_path_factory):
    """{node: plan} as rendered by the mig_layout role for the example inventory."""
    tmp = tmp_path_factory.mktemp("mig-plan")
    out = tmp / "plans"
    out.mkdir()
    run_playbook(
        PLAYBOOKS / "mig_plan.yml",
        tmp,
        str(EXAMPLE_INVENTORY),
        "-e",
        f"mig_plan_out={out}",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
    )
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}


@pytest.fixture(scope="module")
def site():
    return load_site(EXAMPLE_SITE, env={})


def test_every_declared_node_gets_a_plan(role_plans, site):
    declared = [n["name"] for n in site["gpus"]["nodes"]]
    assert sorted(role_plans) == sorted(declared)
    inventory = yaml.safe_load(EXAMPLE_INVENTORY.read_text())
    assert sorted(inventory["all"]["children"]["gpu_nodes"]["hosts"]) == sorted(declared)


def test_role_creation_order_is_the_hubs_layout_plan(role_plans, site):
    hub_plan = layout_plan(site["gpus"])
    for node, plan in role_plans.items():
        assert FILTER.mig_layout_steps(plan) == hub_plan[node], node


def test_role_layout_is_the_hubs_static_inventory(role_plans, site):
    inventory = declared_inventory(site["gpus"])
    hub_gpus = [
        (g.node, g.mode.value, sorted((i.profile, i.start) for i in g.instances))
        for g in inventory.gpus
    ]
    role_gpus = [
        (node, g["mode"], sorted((i["profile"], i["start"]) for i in g["instances"]))
        for node in [n["name"] for n in site["gpus"]["nodes"]]
        for g in role_plans[node]["gpus"]
    ]
    assert role_gpus == hub_gpus
    # The example really exercises the interesting cases.
    assert {g.mode.value for g in inventory.gpus} == {"mig", "mps", "whole"}
    assert len({i.profile for g in inventory.gpus for i in g.instances}) >= 4


def test_role_profile_table_is_the_hubs():
    assert list(FILTER.MODELS) == [m.key for m in GPU_MODELS]
    for model in GPU_MODELS:
        table = catalogue_table(model.key)
        hub = {
            p.name: (p.profile_id, p.memory_slots, p.compute, tuple(p.valid_starts))
            for p in table.profiles
        }
        label, memory_gb, profiles, aliases = FILTER.MODELS[model.key]
        role = {
            name: (pid, slots, compute, tuple(starts))
            for name, (pid, slots, compute, starts) in profiles.items()
        }
        assert (label, memory_gb, role) == (model.label, model.memory_gb, hub)
        assert aliases == dict(model.aliases)
        assert FILTER.DEVICE_NAMES[model.key] == model.device_names


@pytest.mark.parametrize(
    "name",
    sorted({n for m in GPU_MODELS for n in (m.key, m.label, *m.device_names)} | {"NVIDIA B200"}),
)
def test_role_names_slurm_gres_as_the_hub(name: str) -> None:
    """The plan's Slurm types (gres.conf, slurm.conf) are the ones the hub requests."""
    assert FILTER.device_name_of(name) == device_name_of(name)
    device = device_name_of(name)
    model = model_for_device(name)
    for profile in [None, *(p.name for p in (model.profiles if model else ()))]:
        assert FILTER.slurm_gres_type(device, profile) == slurm_gres_type(device, profile)


def test_role_profile_ids_are_nvidias_h100_ids():
    # `nvidia-smi mig -lgip` on an H100 80GB (NVIDIA MIG User Guide, H100 profiles).
    ids = {name: entry[0] for name, entry in FILTER.H100_80GB_PROFILES.items()}
    assert ids == {
        "1g.10gb": 19,
        "1g.20gb": 15,
        "2g.20gb": 14,
        "3g.40gb": 9,
        "4g.40gb": 5,
        "7g.80gb": 0,
    }
    assert {p.name for p in H100_MIG_PROFILES} == set(ids)


_DEVICE_NAMES = sorted(
    {n for m in GPU_MODELS for n in (m.key, m.label, *m.device_names)}
    | {
        "NVIDIA H100 PCIe",
        "NVIDIA H800",
        "NVIDIA GH200 480GB",
        "NVIDIA H20",
        "NVIDIA B200",
        "NVIDIA A800 80GB PCIe",
        "H100",
        "Tesla V100-SXM2-32GB",
    }
)


@pytest.mark.parametrize("name", _DEVICE_NAMES)
@pytest.mark.parametrize("memory_gb", [None, 40, 80, 94, 141])
def test_role_resolves_models_as_the_hub_does(name, memory_gb):
    mib = memory_gb * 1024 if memory_gb else None
    hub = model_for_device(name, mib)
    assert FILTER.model_for_device(name, mib) == (hub.key if hub else None)


def test_a_mixed_h100_h200_node_is_planned_with_each_gpus_profiles():
    site = {
        "gpus": {
            "source": "declared",
            "nodes": [
                {
                    "name": "mixed",
                    "gpus": [
                        {"index": 0, "mode": "mig", "layout": [{"profile": "3g.40gb", "start": 4}]},
                        {
                            "index": 1,
                            "mode": "mig",
                            "model": "h200-141gb",
                            "layout": [
                                {"profile": "1g.18gb", "start": 6},
                                {"profile": "3g.71gb", "start": 0},
                            ],
                        },
                        {
                            "index": 2,
                            "mode": "mig",
                            "model": "NVIDIA A100-SXM4-80GB",
                            "layout": [{"profile": "3g.40gb", "start": 0}],
                        },
                    ],
                }
            ],
        }
    }
    plan = FILTER.mig_layout_node(site, "mixed")
    assert [g["model"] for g in plan["gpus"]] == ["h100-80gb", "h200-141gb", "a100-80gb"]
    assert plan["gpus"][1]["instances"] == [
        {
            "profile": "3g.71gb",
            "profile_id": 9,
            "start": 0,
            "names": ["3g.71gb"],
            "slurm_type": "nvidia_h200_3g.71gb",
        },
        {
            "profile": "1g.18gb",
            "profile_id": 19,
            "start": 6,
            "names": ["1g.18gb"],
            "slurm_type": "nvidia_h200_1g.18gb",
        },
    ]
    assert [g["slurm_type"] for g in plan["gpus"]] == [
        "nvidia_h100_80gb_hbm3",
        "nvidia_h200",
        "nvidia_a100-sxm4-80gb",
    ]
    assert plan["gpus"][2]["instances"][0]["slurm_type"] == "nvidia_a100_3g.40gb"
    # The drifted name an R535 driver prints is accepted for an A100 80GB's 3g.40gb.
    assert plan["gpus"][2]["instances"][0]["names"] == ["3g.40gb", "3g.39gb"]
    assert FILTER.mig_layout_steps(plan) == layout_plan(site["gpus"])["mixed"]
    validate(deep_merge(_DEFAULTS, site), "mixed")


def test_a_profile_of_another_model_is_refused_by_both():
    site = {
        "gpus": {
            "source": "declared",
            "nodes": [
                {
                    "name": "n1",
                    "gpus": [
                        {"index": 0, "mode": "mig", "layout": [{"profile": "1g.18gb", "start": 0}]}
                    ],
                }
            ],
        }
    }
    with pytest.raises(
        FILTER.AnsibleFilterError, match="1g.18gb is not a MIG profile of the H100 80GB"
    ):
        FILTER.mig_layout_node(site, "n1")
    with pytest.raises(SiteError, match="1g.18gb is not a MIG profile of the H100 80GB"):
        validate(deep_merge(_DEFAULTS, site), "property")


def test_undeclared_node_is_refused():
    doc = yaml.safe_load(EXAMPLE_SITE.read_text())
    with pytest.raises(FILTER.AnsibleFilterError, match="not declared"):
        FILTER.mig_layout_node(doc, "gpu99")


_DEFAULTS = yaml.safe_load(DEFAULTS_PATH.read_text())
_MODELS = [m.key for m in GPU_MODELS]
_ALL_PROFILES = sorted({p.name for m in GPU_MODELS for p in m.profiles})


@st.composite
def _gpu(draw, mode=None):
    model = draw(st.sampled_from([None, *_MODELS]))
    table = catalogue_table(model or "h100-80gb")
    # Mostly the model's own profiles, sometimes another model's (refused by both).
    names = st.one_of(st.sampled_from(list(table.names)), st.sampled_from(_ALL_PROFILES))
    layout = draw(
        st.lists(st.fixed_dictionaries({"profile": names, "start": st.integers(0, 6)}), max_size=8)
    )
    gpu = {
        "index": 0,
        "mode": mode or draw(st.sampled_from(["mig", "mig", "mig", "mps"])),
        "layout": layout,
    }
    if model is not None:
        gpu["model"] = model
    return gpu


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gpu=_gpu())
def test_role_accepts_exactly_what_the_hub_accepts(gpu):
    doc = {"gpus": {"source": "declared", "nodes": [{"name": "n1", "gpus": [gpu]}]}}
    try:
        validate(deep_merge(_DEFAULTS, doc), "property")
        hub_ok = True
    except SiteError:
        hub_ok = False
    try:
        plan = FILTER.mig_layout_node(doc, "n1")
        role_ok = True
    except FILTER.AnsibleFilterError:
        role_ok = False
    assert role_ok == hub_ok, gpu
    if hub_ok:
        assert FILTER.mig_layout_steps(plan) == layout_plan(doc["gpus"])["n1"]


def _keep_fitting(gpu):
    """Drop the instances that do not fit, in order (the hub's own placement rule, with
    the GPU model's geometry), and those of another model."""
    from spawners.core.placement import fits

    table = catalogue_table(gpu.get("model") or "h100-80gb")
    mask = compute = 0
    kept = []
    for inst in gpu["layout"]:
        profile = table.profile(inst["profile"])
        if profile is not None and fits(profile, inst["start"], mask, compute):
            mask |= ((1 << profile.memory_slots) - 1) << inst["start"]
            compute += profile.compute
            kept.append(inst)
    return {**gpu, "layout": kept, "index": 3}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gpu=_gpu(mode="mig").map(_keep_fitting))
def test_role_plans_every_valid_layout_in_the_hubs_order(gpu):
    doc = {"gpus": {"nodes": [{"name": "n1", "gpus": [gpu]}]}}
    validate(deep_merge(_DEFAULTS, doc), "property")
    plan = FILTER.mig_layout_node(doc, "n1")
    assert FILTER.mig_layout_steps(plan) == layout_plan(doc["gpus"])["n1"]
    inventory = declared_inventory(deep_merge(_DEFAULTS, doc)["gpus"])
    assert [(i.profile, i.start) for i in inventory.gpus[0].instances] == sorted(
        ((i["profile"], i["start"]) for i in gpu["layout"]), key=lambda x: x[1]
    )
