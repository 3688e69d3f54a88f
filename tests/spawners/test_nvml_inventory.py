"""The NVML inventory path: the recorded NVML snapshot of every GPU model replayed
through a fake pynvml (no GPU runs here). The MIG table of each GPU comes from NVML's
own profile information, and falls back to the catalogue by the device name."""

from __future__ import annotations

import copy

import pytest

from hub_config.site import load_site
from spawners.core.allocator import allocate, free_counts, offered_slices, slice_families
from spawners.core.model import GpuMode, MigStrategy, Placement, Refusal
from spawners.core.profiles import catalogue_table
from spawners.inventory.nvml import inventory_from_snapshot, mig_table_from_snapshot, take_snapshot
from spawners.inventory.select import inventory_for_site
from tests.spawners.fake_nvml import FakeNvml, device

DEFAULT_GPUS = load_site(env={})["gpus"]
"""The embedded site's gpus section (the validated site the hub passes): tests vary it."""

MODELS = ["h100-80gb", "h100-94gb", "h200-141gb", "a100-80gb", "a100-40gb"]

# The layout `nvidia-smi mig -lgi` reported on a real H100 80GB node (NVIDIA/DCGM issue
# 138): 2g.20gb at 0, 1g.10gb at 2 and 3, 3g.40gb at 4.
H100_LAYOUT = [("1g.10gb", 2), ("1g.10gb", 3), ("2g.20gb", 0), ("3g.40gb", 4)]


def h100_node() -> FakeNvml:
    return FakeNvml(
        [
            device("h100-80gb", "GPU-5a3c1f0e-8f2b-4c3e-9d51-0e7a6b1c2d30", instances=H100_LAYOUT),
            device("h100-80gb", "GPU-7d1e2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", mig_mode=0),
        ]
    )


@pytest.mark.parametrize("model", MODELS)
def test_the_table_comes_from_nvmls_profile_information(model: str) -> None:
    snapshot = take_snapshot(FakeNvml([device(model, "GPU-00000000-0000-0000-0000-000000000000")]))
    (gpu,) = snapshot
    # What NVML said: every supported profile (the +me variant too) with its placements.
    assert {e["info"]["id"] for e in gpu["gpu_instance_profiles"]} == {19, 20, 15, 14, 9, 5, 0}
    table = mig_table_from_snapshot(gpu)
    assert table.source == "nvml"
    expected = catalogue_table(model)
    assert (table.model, table.label, table.memory_gb) == (
        expected.model,
        expected.label,
        expected.memory_gb,
    )
    ours = {p.name: (p.geometry, p.profile_id, p.memory_gb) for p in table.profiles}
    theirs = {p.name: (p.geometry, p.profile_id, p.memory_gb) for p in expected.profiles}
    assert ours == theirs


def test_a_drifted_driver_name_maps_to_the_catalogue_name() -> None:
    dev = device("a100-80gb", "GPU-a100")
    for entry in dev["gpu_instance_profiles"]:
        if entry["info"]["name"] == "MIG 3g.40gb":
            entry["info"]["name"] = "MIG 3g.39gb"  # as R535/R545 drivers name it
    table = mig_table_from_snapshot(take_snapshot(FakeNvml([dev]))[0])
    assert "3g.40gb" in table.names and "3g.39gb" not in table.names


def test_without_profile_information_the_catalogue_is_used_by_device_name() -> None:
    dev = device("h200-141gb", "GPU-h200")
    dev["gpu_instance_profiles"] = []  # a driver that answers no profile query
    (gpu,) = take_snapshot(FakeNvml([dev]))
    assert gpu["gpu_instance_profiles"] == []
    table = mig_table_from_snapshot(gpu)
    assert table is catalogue_table("h200-141gb")


def test_a_model_the_catalogue_lacks_offers_what_it_can_name() -> None:
    # A GPU of an unknown model offers its NVML profiles whose names the site knows, and
    # never the H100 table by default.
    # A GH200 144GB names the H200's geometry 1g.18gb, 1g.36gb, 2g.36gb, 3g.72gb...
    # (NVIDIA/mig-parted PR 139).
    dev = device("h200-141gb", "GPU-gh200")
    dev["name"] = "NVIDIA GH200 144G HBM3e"
    renamed = {"35gb": "36gb", "71gb": "72gb", "141gb": "144gb"}
    for entry in dev["gpu_instance_profiles"]:
        for old, new in renamed.items():
            entry["info"]["name"] = entry["info"]["name"].replace(old, new)
    table = mig_table_from_snapshot(take_snapshot(FakeNvml([dev]))[0])
    assert table.model == "" and table.label == "GH200 144G HBM3e"
    assert set(table.names) == {"1g.18gb"}  # 1g.36gb, 2g.36gb...: names no model here has


def test_snapshot_reads_gpus_instances_and_uuids() -> None:
    snapshot = take_snapshot(h100_node())
    assert [g["index"] for g in snapshot] == [0, 1]
    first = snapshot[0]
    assert first["uuid"].startswith("GPU-") and first["mig_mode"] == 1
    layout = sorted((i["profile"], i["start"], i["size"]) for i in first["instances"])
    assert layout == [("1g.10gb", 2, 1), ("1g.10gb", 3, 1), ("2g.20gb", 0, 2), ("3g.40gb", 4, 4)]
    assert all(i["uuid"].startswith("MIG-") for i in first["instances"])
    assert snapshot[1]["instances"] == [] and snapshot[1]["gpu_instance_profiles"] == []


def test_inventory_offers_the_existing_instances() -> None:
    inventory = inventory_from_snapshot(take_snapshot(h100_node()))
    assert inventory.strategy is MigStrategy.STATIC and not inventory.simulated
    assert inventory.gpus[0].mode is GpuMode.MIG and inventory.gpus[1].mode is GpuMode.WHOLE
    assert inventory.gpus[0].memory_gb == 80
    assert free_counts(inventory, []) == {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1, "gpu": 1}
    placement = allocate(inventory, [], "3g.40gb")
    assert isinstance(placement, Placement)
    assert placement.device_uuid == inventory.gpus[0].instances[-1].uuid
    assert placement.start == 4
    # A profile that has no instance on this node is never offered.
    refusal = allocate(inventory, [], "7g.80gb")
    assert isinstance(refusal, Refusal) and "no GPU that can hold" in refusal.message


def test_a_mixed_h100_h200_node_offers_each_gpus_own_profiles() -> None:
    nvml = FakeNvml(
        [
            device("h100-80gb", "GPU-h100", instances=[("3g.40gb", 0), ("1g.10gb", 6)]),
            # An H200 with a media-engine instance: offered as the 1g.18gb it is.
            device("h200-141gb", "GPU-h200", instances=[("1g.18gb+me", 0), ("3g.71gb", 4)]),
        ]
    )
    inventory = inventory_from_snapshot(take_snapshot(nvml))
    assert [g.family for g in inventory.gpus] == ["H100 80GB", "H200 141GB"]
    assert free_counts(inventory, []) == {
        "1g.10gb": 1,
        "3g.40gb": 1,
        "1g.18gb": 1,
        "3g.71gb": 1,
    }
    assert slice_families(inventory)["1g.18gb"] == ("H200 141GB",)
    on_h200 = allocate(inventory, [], "1g.18gb")
    assert on_h200.gpu_uuid == "GPU-h200" and on_h200.start == 0
    assert allocate(inventory, [], "1g.10gb").gpu_uuid == "GPU-h100"
    assert "7g.141gb" not in offered_slices(inventory)


def test_dynamic_creation_starts_every_gpu_empty_with_its_table() -> None:
    nvml = FakeNvml([device("h200-141gb", "GPU-h200", instances=[("1g.18gb", 3)])])
    gpus = {**DEFAULT_GPUS, "source": "nvml", "nvml_create_instances": True}
    inventory = inventory_for_site(gpus, probe=lambda: take_snapshot(copy.deepcopy(nvml)))
    assert inventory.strategy is MigStrategy.DYNAMIC and inventory.gpus[0].instances == ()
    assert free_counts(inventory, [])["1g.18gb"] == 7
    assert "1g.10gb" not in free_counts(inventory, [])


def test_auto_source_falls_back_to_simulated_without_nvml() -> None:
    gpus = {**DEFAULT_GPUS, "source": "auto", "simulated_count": 2}
    inventory = inventory_for_site(gpus, probe=lambda: None)
    assert inventory.simulated and len(inventory.gpus) == 2
    assert inventory.gpus[0].family == "H100 80GB"
    real = inventory_for_site(gpus, probe=lambda: take_snapshot(h100_node()))
    assert not real.simulated and real.source == "nvml"
