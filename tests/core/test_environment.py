"""The single-user server's environment for each kind of slice (DESIGN.md contract)."""

from __future__ import annotations

import pytest

from spawners.core.environment import slice_environment

BASE = {
    "image": "speech",
    "gpu_uuid": "GPU-00000000-0000",
    "gpu_index": 0,
    "simulated": False,
    "allocation_id": 17,
}


def test_mig_slice_sees_its_mig_device() -> None:
    env = slice_environment(slice_name="1g.10gb", device_uuid="MIG-abc", **BASE)
    assert env["SANDBOX_SLICE"] == "1g.10gb"
    assert env["SANDBOX_IMAGE"] == "speech"
    assert env["CUDA_VISIBLE_DEVICES"] == "MIG-abc"
    assert env["SANDBOX_GPU_UUID"] == "GPU-00000000-0000"
    assert env["SANDBOX_GPU_INDEX"] == "0"
    assert env["SANDBOX_ALLOCATION_ID"] == "17"
    assert env["SANDBOX_SLICE_KIND"] == "mig"
    assert env["SANDBOX_SLICE_MEMORY_GB"] == "10"
    assert "SANDBOX_SLICE_SIMULATED" not in env
    assert not any(k.startswith("CUDA_MPS") for k in env)


def test_cpu_slice_sees_no_gpu_even_if_a_device_is_passed() -> None:
    env = slice_environment(
        slice_name="cpu",
        image="base",
        device_uuid="GPU-should-not-leak",
        gpu_uuid=None,
        gpu_index=None,
        simulated=False,
        allocation_id=None,
    )
    # Empty, not absent: an unset CUDA_VISIBLE_DEVICES means every GPU.
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert "SANDBOX_GPU_UUID" not in env and "SANDBOX_ALLOCATION_ID" not in env


@pytest.mark.parametrize(
    ("name", "threads", "limit"),
    [("mps.10gb", "13", "0=10G"), ("mps.20gb", "25", "0=20G"), ("mps.40gb", "50", "0=40G")],
)
def test_mps_share_sets_the_mps_limits(name: str, threads: str, limit: str) -> None:
    env = slice_environment(slice_name=name, device_uuid="GPU-00000000-0000", **BASE)
    assert env["CUDA_VISIBLE_DEVICES"] == "GPU-00000000-0000"
    assert env["CUDA_MPS_ACTIVE_THREAD_PERCENTAGE"] == threads
    assert env["CUDA_MPS_PINNED_DEVICE_MEM_LIMIT"] == limit
    assert env["SANDBOX_SLICE_KIND"] == "mps"


def test_simulated_flag() -> None:
    env = slice_environment(slice_name="gpu", device_uuid="GPU-1", **{**BASE, "simulated": True})
    assert env["SANDBOX_SLICE_SIMULATED"] == "1"
    assert env["SANDBOX_SLICE_KIND"] == "gpu"


def test_every_value_is_a_string() -> None:
    env = slice_environment(slice_name="3g.40gb", device_uuid=None, **BASE)
    assert all(isinstance(v, str) for v in env.values())
    assert env["CUDA_VISIBLE_DEVICES"] == ""


def test_unknown_slice_is_refused() -> None:
    with pytest.raises(KeyError):
        slice_environment(slice_name="8g.90gb", device_uuid=None, **BASE)


# Names several catalogue models share: the H100 80GB and the A100 80GB have the same six
# names and figures; the A100 40GB's 1g.10gb is the H100's name on two memory slots; the
# whole-GPU slice is called "gpu" on every model. The figures a server is told are those
# of its own GPU's model, and SANDBOX_GPU_MODEL tells the server which that is.
@pytest.mark.parametrize(
    ("slice_name", "model", "memory_gb"),
    [
        ("gpu", "h200-141gb", "141"),
        ("gpu", "h100-94gb", "94"),
        ("gpu", "a100-40gb", "40"),
        ("gpu", "h100-80gb", "80"),
        ("1g.10gb", "a100-40gb", "10"),
        ("1g.18gb", "h200-141gb", "18"),
        ("mps.20gb", "h200-141gb", "20"),  # an MPS share pins its nominal memory anywhere
    ],
)
def test_a_slice_is_described_as_it_is_on_its_gpus_model(
    slice_name: str, model: str, memory_gb: str
) -> None:
    env = slice_environment(slice_name=slice_name, device_uuid="GPU-1", gpu_model=model, **BASE)
    assert env["SANDBOX_SLICE_MEMORY_GB"] == memory_gb
    assert env["SANDBOX_GPU_MODEL"] == model


def test_no_model_for_cpu_or_an_unknown_gpu() -> None:
    cpu = slice_environment(slice_name="cpu", device_uuid=None, gpu_model="h200-141gb", **BASE)
    assert "SANDBOX_GPU_MODEL" not in cpu
    unknown = slice_environment(slice_name="gpu", device_uuid="GPU-1", gpu_model="", **BASE)
    assert "SANDBOX_GPU_MODEL" not in unknown
    assert unknown["SANDBOX_SLICE_MEMORY_GB"] == "80"  # the reference whole GPU
