"""The mig_layout role and the hub read the same site file and agree on the layout.

The role's plan is rendered by Ansible itself (a plan-only run of the role over the
example inventory, with the inventory's own variables), then compared with the hub's
static inventory (`declared_inventory`) and its creation order (`layout_plan`) of the
same file as loaded by the hub's loader. A property test then checks that the role's
filter accepts exactly the layouts the hub accepts, and orders them the same way."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub_config.site import DEFAULTS_PATH, SiteError, deep_merge, load_site, validate
from spawners.core.profiles import H100_MIG_PROFILES
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
    hub = {p.name: (p.memory_slots, p.compute, tuple(p.valid_starts)) for p in H100_MIG_PROFILES}
    role = {
        name: (slots, compute, tuple(starts))
        for name, (_, slots, compute, starts) in FILTER.H100_80GB_PROFILES.items()
    }
    assert role == hub


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


def test_undeclared_node_is_refused():
    doc = yaml.safe_load(EXAMPLE_SITE.read_text())
    with pytest.raises(FILTER.AnsibleFilterError, match="not declared"):
        FILTER.mig_layout_node(doc, "gpu99")


_DEFAULTS = yaml.safe_load(DEFAULTS_PATH.read_text())
_instance = st.fixed_dictionaries(
    {"profile": st.sampled_from([p.name for p in H100_MIG_PROFILES]), "start": st.integers(0, 6)}
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=st.lists(_instance, max_size=8), mode=st.sampled_from(["mig", "mig", "mig", "mps"]))
def test_role_accepts_exactly_what_the_hub_accepts(layout, mode):
    gpu = {"index": 0, "mode": mode, "layout": layout}
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
    assert role_ok == hub_ok, (layout, mode)
    if hub_ok:
        assert FILTER.mig_layout_steps(plan) == layout_plan(doc["gpus"])["n1"]


def _keep_fitting(layout):
    """Drop the instances that do not fit, in order (the hub's own placement rule)."""
    from spawners.core.placement import fits
    from spawners.core.profiles import slice_profile

    mask = compute = 0
    kept = []
    for inst in layout:
        profile = slice_profile(inst["profile"])
        if fits(profile, inst["start"], mask, compute):
            mask |= ((1 << profile.memory_slots) - 1) << inst["start"]
            compute += profile.compute
            kept.append(inst)
    return kept


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=st.lists(_instance, min_size=1, max_size=10).map(_keep_fitting))
def test_role_plans_every_valid_layout_in_the_hubs_order(layout):
    doc = {
        "gpus": {"nodes": [{"name": "n1", "gpus": [{"index": 3, "mode": "mig", "layout": layout}]}]}
    }
    validate(deep_merge(_DEFAULTS, doc), "property")
    plan = FILTER.mig_layout_node(doc, "n1")
    assert FILTER.mig_layout_steps(plan) == layout_plan(doc["gpus"])["n1"]
