"""A site that mixes H100 and H200 nodes, from the site file to the capacity page: the
declared inventory knows each GPU's model, each kind of request lands on the right GPU
and is charged the share of that GPU, the spawn form lists both families, the capacity
views show both, and a team cap follows the GPU model."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest

from extensions.slices_service.overview import overview_view
from extensions.slices_service.views import inventory_view
from hub_config.site import SiteError, load_site
from spawners.core.allocator import allocate, free_counts, offered_slices, slice_families
from spawners.core.images import image_table
from spawners.core.model import GpuMode, MigStrategy, Placement, Refusal, RefusalCode
from spawners.core.options import Choices
from spawners.form import render_form
from spawners.inventory.declared import declared_inventory
from spawners.inventory.select import inventory_for_site
from spawners.ledger.ledger import Ledger
from tests.policy.conftest import default_policy

MIXED_SITE = """
site: {name: Mixed hub}
gpus:
  source: declared
  mig_strategy: dynamic
  nodes:
    - name: h100-node
      gpus:
        - {index: 0, mode: mig}
        - {index: 1, mode: mig, model: NVIDIA H100 80GB HBM3}
    - name: h200-node
      gpus:
        - {index: 0, mode: mig, model: h200-141gb}
        - {index: 1, mode: whole, model: NVIDIA H200}
"""


@pytest.fixture
def site(tmp_path: Path):
    path = tmp_path / "site.yaml"
    path.write_text(MIXED_SITE)
    return load_site(path, env={})


@pytest.fixture
def inventory(site):
    return declared_inventory(site["gpus"])


def test_the_declared_inventory_knows_each_gpus_model(inventory) -> None:
    assert inventory.strategy is MigStrategy.DYNAMIC
    assert [(g.node, g.family, g.mode, g.memory_gb) for g in inventory.gpus] == [
        ("h100-node", "H100 80GB", GpuMode.MIG, 80),
        ("h100-node", "H100 80GB", GpuMode.MIG, 80),
        ("h200-node", "H200 141GB", GpuMode.MIG, 141),
        ("h200-node", "H200 141GB", GpuMode.WHOLE, 141),
    ]
    counts = free_counts(inventory, [])
    assert counts["1g.10gb"] == 14 and counts["1g.18gb"] == 7
    assert counts["7g.80gb"] == 2 and counts["7g.141gb"] == 1 and counts["gpu"] == 1


def test_each_kind_of_request_lands_on_the_right_gpu(inventory) -> None:
    held = []
    for name, node, family, weight in [
        ("1g.18gb", "h200-node", "H200 141GB", Fraction(1, 7)),
        ("3g.71gb", "h200-node", "H200 141GB", Fraction(1, 2)),
        ("1g.10gb", "h100-node", "H100 80GB", Fraction(1, 7)),
        ("2g.20gb", "h100-node", "H100 80GB", Fraction(2, 7)),
        ("gpu", "h200-node", "H200 141GB", Fraction(1)),
    ]:
        p = allocate(inventory, held, name)
        assert isinstance(p, Placement), (name, p)
        gpu = inventory.gpu(p.gpu_uuid)
        assert (p.node, gpu.family, p.gpu_hour_weight) == (node, family, weight), name
        held.append(p.as_holding())
    # The H200 has room left for the 1g.18gb, 1g.35gb and 2g.35gb its table allows.
    counts = free_counts(inventory, held)
    assert counts["1g.18gb"] == 2 and counts["3g.71gb"] == 0 and counts["7g.141gb"] == 0
    # A profile of a model the site lacks is refused by name, with its family.
    refusal = allocate(inventory, held, "1g.5gb")
    assert isinstance(refusal, Refusal) and refusal.code is RefusalCode.NOT_OFFERED
    assert "a profile of A100 40GB GPUs" in refusal.message


def test_the_ledger_charges_the_share_of_the_gpu_it_landed_on(inventory, tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    ledger.create_schema()
    try:
        for user, name in (("ana", "1g.18gb"), ("bo", "3g.40gb")):
            record = ledger.reserve(
                user=user,
                server_name="",
                image="base",
                slice_name=name,
                inventory=inventory,
                epoch="e1",
            )
            assert not isinstance(record, Refusal)
        weights = {r.slice_name: r.weight for r in ledger.live()}
        assert weights == {"1g.18gb": pytest.approx(1 / 7), "3g.40gb": pytest.approx(1 / 2)}
    finally:
        ledger.dispose()


def test_the_form_lists_both_families(inventory) -> None:
    offered = offered_slices(inventory)
    choices = Choices(images=("base",), slices=offered, default_image="base", default_slice="cpu")
    html = render_form(
        choices,
        free_counts(inventory, []),
        image_table({"base": {"description": "Python"}}),
        "Mixed hub",
        families=slice_families(inventory),
    )
    sections = dict(
        re.findall(r'<div class="sandbox-family" data-family="([^"]+)">(.*?)</div>', html)
    )
    assert set(sections) == {"H100 80GB", "H200 141GB"}
    for name in ("1g.10gb", "3g.40gb", "7g.80gb"):
        assert f'value="{name}"' in sections["H100 80GB"]
        assert f'value="{name}"' not in sections["H200 141GB"]
    for name in ("1g.18gb", "1g.35gb", "7g.141gb"):
        assert f'value="{name}"' in sections["H200 141GB"]
    assert "(7 free)" in sections["H200 141GB"] and "(14 free)" in sections["H100 80GB"]
    # cpu first, outside the families; the whole GPU says where it is.
    assert html.index('value="cpu"') < html.index('class="sandbox-family"')
    assert "A whole GPU that is not in MIG mode on H200 141GB" in html


def test_a_site_of_one_model_lists_its_slices_as_before(site) -> None:
    one = inventory_for_site({**load_site(env={})["gpus"], "source": "simulated"})
    choices = Choices(("base",), offered_slices(one), "base", "cpu")
    plain = render_form(choices, free_counts(one, []), {}, "Hub")
    families = render_form(choices, free_counts(one, []), {}, "Hub", families=slice_families(one))
    assert 'class="sandbox-family"' not in plain and 'class="sandbox-family"' not in families


def test_the_capacity_views_show_both_families(inventory) -> None:
    held = [allocate(inventory, [], "1g.18gb").as_holding()]
    view = inventory_view(inventory, [])
    assert [f["family"] for f in view["families"]] == ["H100 80GB", "H200 141GB"]
    h200 = next(f for f in view["families"] if f["family"] == "H200 141GB")
    assert h200["gpus"] == [2, 3] and "1g.18gb" in h200["slices"] and "gpu" in h200["slices"]
    headers = [(g["family"], [p["name"] for p in g["mig_profiles"]]) for g in view["gpus"]]
    assert headers[0] == (
        "H100 80GB",
        ["1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"],
    )
    assert headers[2] == (
        "H200 141GB",
        ["1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"],
    )
    assert headers[3] == ("H200 141GB", [])  # a whole GPU has no MIG profiles
    assert view["gpus"][2]["free"]["1g.18gb"] == 7 and "1g.10gb" not in view["gpus"][2]["free"]
    overview = overview_view(inventory, [])
    assert [f["family"] for f in overview["families"]] == ["H100 80GB", "H200 141GB"]
    assert held  # (the views take ledger records; an empty ledger is enough here)


def test_fragmentation_is_judged_by_each_gpus_own_profiles(inventory) -> None:
    from tests.extensions.records import record

    h200 = inventory.gpus[2].uuid
    live = [record(1, "ana", "1g.18gb", h200, 4)]  # only the 7g.141gb cannot be placed now
    view = overview_view(inventory, live)
    frag = {f["gpu_index"]: f for f in view["fragmentation"]}
    blocked = {b["profile"]: b for b in frag[2]["blocked"]}
    assert frag[2]["family"] == "H200 141GB"
    assert set(blocked) == {"7g.141gb"}  # the H200's own names, nothing of the H100's
    assert blocked["7g.141gb"]["starts"][0]["blocked_by"][0]["user"] == "ana"
    assert frag[0]["blocked"] == []  # nothing is held on the H100s


def test_a_team_cap_follows_the_gpu_model(inventory) -> None:
    policy = default_policy(max_slice="2g.20gb")
    allowed = [s for s in offered_slices(inventory) if policy.allows_slice(s)]
    assert {"1g.10gb", "1g.20gb", "2g.20gb", "1g.18gb", "1g.35gb", "2g.35gb"} <= set(allowed)
    assert not {"3g.40gb", "3g.71gb", "7g.141gb", "gpu"} & set(allowed)


@pytest.mark.parametrize(
    ("gpu", "fragment"),
    [
        # A profile of another model on this GPU.
        (
            "{index: 0, mode: mig, layout: [{profile: 1g.18gb, start: 0}]}",
            "1g.18gb is not a MIG profile of the H100 80GB",
        ),
        # 1g.10gb takes two memory slots of an A100 40GB: it cannot start at 1 there.
        (
            "{index: 0, mode: mig, model: a100-40gb, layout: [{profile: 1g.10gb, start: 1}]}",
            "1g.10gb cannot start at slot 1 (valid starts [0, 2, 4, 6]",
        ),
        ("{index: 0, mode: mig, model: NVIDIA B200}", "unknown GPU model 'NVIDIA B200' for MIG"),
    ],
)
def test_the_site_loader_checks_layouts_against_the_gpus_model(
    tmp_path: Path, gpu: str, fragment: str
) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(f"gpus:\n  source: declared\n  nodes:\n    - name: n1\n      gpus: [{gpu}]\n")
    with pytest.raises(SiteError) as info:
        load_site(path, env={})
    assert fragment in str(info.value)


def test_an_h200_layout_loads_as_static_instances(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        "gpus:\n  source: declared\n  nodes:\n    - name: n1\n      gpus:\n"
        "        - {index: 0, mode: mig, model: h200-141gb, layout: "
        "[{profile: 3g.71gb, start: 0}, {profile: 1g.35gb, start: 4}, {profile: 1g.18gb, start: 6}]}\n"
    )
    inventory = declared_inventory(load_site(path, env={})["gpus"])
    # The site stays dynamic (the default); the GPU with the layout is static.
    assert inventory.strategy is MigStrategy.DYNAMIC
    assert inventory.gpus[0].strategy is MigStrategy.STATIC
    assert [(i.profile, i.start, sorted(i.slots)) for i in inventory.gpus[0].instances] == [
        ("3g.71gb", 0, [0, 1, 2, 3]),
        ("1g.35gb", 4, [4, 5]),
        ("1g.18gb", 6, [6]),
    ]
    assert free_counts(inventory, []) == {"1g.18gb": 1, "1g.35gb": 1, "3g.71gb": 1}


def test_simulated_gpus_may_be_another_model(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("gpus: {source: simulated, simulated_count: 2, simulated_model: h200-141gb}\n")
    site = load_site(path, env={})
    inventory = inventory_for_site(site["gpus"])
    assert [g.family for g in inventory.gpus] == ["H200 141GB", "H200 141GB"]
    assert inventory.gpus[0].model == "NVIDIA H200 (simulated)"
    assert free_counts(inventory, [])["1g.18gb"] == 14
    # The default stays one H100 80GB.
    default = inventory_for_site(load_site(env={})["gpus"])
    assert [g.family for g in default.gpus] == ["H100 80GB"]


def test_the_inventory_names_each_gpus_model_for_the_backends(inventory) -> None:
    """What the backends name devices after (Slurm gres, GPU Feature Discovery labels)
    and what the server is told its GPU is (SANDBOX_GPU_MODEL)."""
    got = [(inventory.gpu_model(g.uuid), inventory.device_name(g.uuid)) for g in inventory.gpus]
    assert got == [
        ("h100-80gb", "NVIDIA H100 80GB HBM3"),
        ("h100-80gb", "NVIDIA H100 80GB HBM3"),
        ("h200-141gb", "NVIDIA H200"),
        ("h200-141gb", "NVIDIA H200"),
    ]
    assert inventory.gpu_model(None) is None and inventory.device_name("GPU-gone") is None
