"""The NVML inventory path on a recorded real layout (no GPU runs here)."""

from __future__ import annotations

import json
from pathlib import Path

from spawners.core.allocator import allocate, free_counts
from spawners.core.model import GpuMode, MigStrategy, Placement, Refusal
from spawners.inventory.nvml import inventory_from_snapshot, take_snapshot
from spawners.inventory.select import inventory_for_site
from tests.spawners.fake_nvml import ReplayNvml

RECORDED = json.loads((Path(__file__).parent / "fixtures" / "nvml-h100-mig.json").read_text())


def test_snapshot_reads_gpus_instances_and_uuids() -> None:
    snapshot = take_snapshot(ReplayNvml(RECORDED))
    assert [g["index"] for g in snapshot] == [0, 1]
    first = snapshot[0]
    assert first["uuid"].startswith("GPU-") and first["mig_mode"] == 1
    layout = sorted((i["profile"], i["start"]) for i in first["instances"])
    assert layout == [("1g.10gb", 2), ("1g.10gb", 3), ("2g.20gb", 0), ("3g.40gb", 4)]
    assert all(i["uuid"].startswith("MIG-") for i in first["instances"])
    assert snapshot[1]["instances"] == []


def test_inventory_offers_the_existing_instances() -> None:
    inventory = inventory_from_snapshot(take_snapshot(ReplayNvml(RECORDED)))
    assert inventory.strategy is MigStrategy.STATIC and not inventory.simulated
    assert inventory.gpus[0].mode is GpuMode.MIG and inventory.gpus[1].mode is GpuMode.WHOLE
    assert inventory.gpus[0].memory_gb == 80
    assert free_counts(inventory, []) == {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1, "gpu": 1}
    placement = allocate(inventory, [], "3g.40gb")
    assert isinstance(placement, Placement)
    assert placement.device_uuid == "MIG-0b6f5f2e-1111-5a0e-9c1a-000000000002"
    assert placement.start == 4
    # A profile that has no instance on this node is never offered.
    refusal = allocate(inventory, [], "7g.80gb")
    assert isinstance(refusal, Refusal) and "no GPU that can hold" in refusal.message


def test_auto_source_falls_back_to_simulated_without_nvml() -> None:
    gpus = {"source": "auto", "simulated_count": 2, "mig_strategy": "dynamic", "nodes": []}
    inventory = inventory_for_site(gpus, probe=lambda: None)
    assert inventory.simulated and len(inventory.gpus) == 2
    real = inventory_for_site(gpus, probe=lambda: take_snapshot(ReplayNvml(RECORDED)))
    assert not real.simulated and real.source == "nvml"
