"""Dynamic MIG on real GPUs: the NVML calls that create and destroy an instance."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from spawners.inventory.nvml_instances import NvmlInstanceError, NvmlInstanceManager
from tests.spawners.fake_nvml import CreatingNvml

RECORDED = json.loads((Path(__file__).parent / "fixtures" / "nvml-h100-mig.json").read_text())


def _idle_gpu() -> dict:
    recorded = copy.deepcopy(RECORDED)
    recorded["gpus"][0]["instances"] = []
    return recorded


def test_create_places_the_instance_at_the_chosen_slot_and_returns_its_uuid() -> None:
    nvml = CreatingNvml(_idle_gpu())
    uuid = NvmlInstanceManager(nvml).create(0, "3g.40gb", 4)
    assert uuid.startswith("MIG-created-")
    creates = [c for c in nvml.calls if c[0] == "create_gi"]
    assert creates == [("create_gi", 1002, 4, 4)]
    assert ("create_ci", 21, 2) in nvml.calls  # one 3-slice compute instance
    assert nvml.calls[-1] == ("shutdown",)


def test_destroy_removes_the_instance_and_its_compute_instances() -> None:
    nvml = CreatingNvml(_idle_gpu())
    manager = NvmlInstanceManager(nvml)
    manager.create(0, "1g.10gb", 6)
    manager.destroy(0, "1g.10gb", 6)
    assert nvml.gpus[0]["instances"] == []
    assert ("destroy_gi", 21) in nvml.calls


def test_an_occupied_slot_is_a_clear_error() -> None:
    nvml = CreatingNvml(copy.deepcopy(RECORDED))
    with pytest.raises(NvmlInstanceError, match="refused to create 1g.10gb at slot 2"):
        NvmlInstanceManager(nvml).create(0, "1g.10gb", 2)
