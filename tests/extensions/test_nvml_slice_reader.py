"""The slice reader on recorded NVML answers: per-MIG memory, GPM utilisation."""

from __future__ import annotations

from extensions.sandbox_server.nvml_reader import NvmlSliceReader
from extensions.sandbox_server.slice_info import slice_info
from tests.extensions.fake_slice_nvml import ReplaySliceNvml

MIG_1G = "MIG-0b6f5f2e-1111-5a0e-9c1a-000000000009"
MIG_3G = "MIG-0b6f5f2e-1111-5a0e-9c1a-000000000002"
WHOLE = "GPU-7d1e2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"


def test_mig_memory_is_the_instances_own_and_utilisation_needs_two_gpm_samples() -> None:
    nvml = ReplaySliceNvml()
    reader = NvmlSliceReader(nvml)
    first = reader(MIG_1G)
    assert first == {
        "memory_total_bytes": 10468982784,
        "memory_used_bytes": 2254438400,
        "utilisation_percent": None,
        "utilisation_source": None,
    }
    second = reader(MIG_1G)
    assert second["utilisation_percent"] == 37.5
    assert second["utilisation_source"] == "gpm-sm"
    # A reading outside 0-100 (counter noise) is clamped; each old sample is freed.
    assert reader(MIG_1G)["utilisation_percent"] == 100.0
    assert nvml.samples_taken == 3 and nvml.samples_freed == 2


def test_mig_without_gpm_reports_memory_only() -> None:
    reading = NvmlSliceReader(ReplaySliceNvml())(MIG_3G)
    assert reading["memory_used_bytes"] == 40802189312
    assert reading["utilisation_percent"] is None


def test_whole_gpu_utilisation_comes_from_nvml_rates() -> None:
    reading = NvmlSliceReader(ReplaySliceNvml())(WHOLE)
    assert reading["utilisation_percent"] == 63.0
    assert reading["utilisation_source"] == "nvml"
    assert reading["memory_total_bytes"] == 85520809984


def test_unknown_device_gives_no_reading() -> None:
    assert NvmlSliceReader(ReplaySliceNvml())("MIG-not-here") is None


def test_slice_info_uses_the_reader_on_real_slices_only() -> None:
    reader = NvmlSliceReader(ReplaySliceNvml())
    env = {
        "SANDBOX_SLICE": "3g.40gb",
        "SANDBOX_IMAGE": "vision",
        "CUDA_VISIBLE_DEVICES": MIG_3G,
        "SANDBOX_SLICE_MEMORY_GB": "40",
    }
    info = slice_info(env, reader, now=100.0, started_at=0.0)
    assert info["source"] == "nvml"
    assert info["memory_used_bytes"] == 40802189312
    # 96% full: warned, with the next slice up.
    assert [w["code"] for w in info["warnings"]] == ["memory-high"]
    assert "7g.80gb" in info["warnings"][0]["message"]
    simulated = slice_info(dict(env, SANDBOX_SLICE_SIMULATED="1"), reader, now=1.0, started_at=0.0)
    assert simulated["source"] == "environment"
    assert simulated["memory_used_bytes"] is None
    assert simulated["memory_total_bytes"] == 40 * 10**9
    assert simulated["simulated"] is True
