"""Dynamic MIG on real GPUs: the NVML calls that create and destroy an instance, replayed
on each model's recorded NVML snapshot (the profile and size come from the GPU)."""

from __future__ import annotations

import pytest

from spawners.inventory.nvml_instances import NvmlInstanceError, NvmlInstanceManager
from tests.spawners.fake_nvml import FakeNvml, device


def _gpu(model: str, instances=None) -> FakeNvml:
    return FakeNvml([device(model, f"GPU-{model}", instances=instances)])


@pytest.mark.parametrize(
    ("model", "profile", "start", "created"),
    [
        ("h100-80gb", "3g.40gb", 4, (9, 4, 4)),
        ("h100-80gb", "1g.20gb", 6, (15, 6, 2)),
        ("h200-141gb", "1g.18gb", 6, (19, 6, 1)),
        ("h200-141gb", "3g.71gb", 0, (9, 0, 4)),
        ("h100-94gb", "2g.24gb", 2, (14, 2, 2)),
        # 1g.10gb is one memory slot on an H100 but two on an A100 40GB.
        ("a100-40gb", "1g.10gb", 2, (15, 2, 2)),
        ("a100-80gb", "1g.10gb", 5, (19, 5, 1)),
    ],
)
def test_create_places_the_instance_at_the_chosen_slot_and_returns_its_uuid(
    model: str, profile: str, start: int, created: tuple
) -> None:
    nvml = _gpu(model)
    uuid = NvmlInstanceManager(nvml).create(0, profile, start)
    assert uuid.startswith("MIG-created-")
    assert [c[1:] for c in nvml.calls if c[0] == "create_gi"] == [created]
    compute = int(profile[0])
    ci_profile = {1: 0, 2: 1, 3: 2, 4: 3, 7: 4}[compute]
    assert [c for c in nvml.calls if c[0] == "create_ci"] == [("create_ci", 1, ci_profile)]
    assert nvml.calls[-1] == ("shutdown",) and nvml.initialised == 0


def test_destroy_removes_the_instance_and_its_compute_instances() -> None:
    nvml = _gpu("h200-141gb")
    manager = NvmlInstanceManager(nvml)
    manager.create(0, "1g.18gb", 6)
    manager.destroy(0, "1g.18gb", 6)
    assert nvml.devices[0]["gpu_instances"] == []
    assert ("destroy_ci", 1) in nvml.calls and ("destroy_gi", 1) in nvml.calls


def test_an_occupied_slot_is_a_clear_error() -> None:
    nvml = _gpu("h100-80gb", instances=[("1g.10gb", 2)])
    with pytest.raises(NvmlInstanceError, match="refused to create 1g.10gb at slot 2"):
        NvmlInstanceManager(nvml).create(0, "1g.10gb", 2)
    assert nvml.initialised == 0


def test_a_profile_the_gpu_lacks_is_a_clear_error() -> None:
    with pytest.raises(NvmlInstanceError, match="no MIG profile 1g.18gb"):
        NvmlInstanceManager(_gpu("h100-80gb")).create(0, "1g.18gb", 0)
