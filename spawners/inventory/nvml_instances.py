"""Create and destroy MIG GPU instances through NVML, for the dynamic strategy on real
GPUs (`gpus.nvml_create_instances: true`). Needs root and GPUs that no other tool
partitions: the hub then owns every instance on them. Off by default.

The NVML profile and the placement size of a slice come from the GPU itself (its MIG
table, read from NVML's profile information as the inventory reads it), so the same
call creates a ``1g.10gb`` on an H100 and a ``1g.18gb`` on an H200."""

from __future__ import annotations

import ctypes
from typing import Any

from spawners.inventory.nvml import (
    _text,
    gpu_instances,
    mig_table_from_snapshot,
    read_gpu_instance_profiles,
)

# NVML_COMPUTE_INSTANCE_PROFILE_<n>_SLICE for n compute slices (one CI spanning the GI).
_CI_PROFILE_BY_COMPUTE = {1: 0, 2: 1, 3: 2, 4: 3, 7: 4}
_CI_ENGINE_SHARED = 0


class NvmlInstanceError(RuntimeError):
    pass


class NvmlInstanceManager:
    def __init__(self, nvml: Any) -> None:
        self.nvml = nvml

    def _profile_on(self, handle: Any, profile_name: str) -> tuple[Any, int, int]:
        """(NVML profile info, memory slots, compute slices) of ``profile_name`` on the GPU."""
        nvml = self.nvml
        gpu = {
            "name": _text(nvml.nvmlDeviceGetName(handle)),
            "memory_total": int(nvml.nvmlDeviceGetMemoryInfo(handle).total),
            "gpu_instance_profiles": read_gpu_instance_profiles(nvml, handle),
        }
        table = mig_table_from_snapshot(gpu)
        here = table.profile(profile_name) if table is not None else None
        if here is None or here.nvml_profile is None:
            raise NvmlInstanceError(f"this GPU ({gpu['name']}) has no MIG profile {profile_name}")
        info = nvml.nvmlDeviceGetGpuInstanceProfileInfo(handle, here.nvml_profile)
        return info, here.memory_slots, here.compute

    def create(self, gpu_index: int, profile_name: str, start: int) -> str:
        """Create the GPU instance and its compute instance; return the MIG device UUID."""
        nvml = self.nvml
        nvml.nvmlInit()
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(gpu_index)
            info, size, compute = self._profile_on(handle, profile_name)
            placement = nvml.c_nvmlGpuInstancePlacement_t()
            placement.start = start
            placement.size = size
            gi = nvml.nvmlDeviceCreateGpuInstanceWithPlacement(handle, info.id, placement)
            ci_info = nvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(
                gi, _CI_PROFILE_BY_COMPUTE[compute], _CI_ENGINE_SHARED
            )
            nvml.nvmlGpuInstanceCreateComputeInstance(gi, ci_info.id)
            gi_id = nvml.nvmlGpuInstanceGetInfo(gi).id
            for i in range(nvml.nvmlDeviceGetMaxMigDeviceCount(handle)):
                try:
                    mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, i)
                except nvml.NVMLError:
                    continue
                if nvml.nvmlDeviceGetGpuInstanceId(mig) == gi_id:
                    return _text(nvml.nvmlDeviceGetUUID(mig))
            raise NvmlInstanceError(
                f"created {profile_name} at {start} on GPU {gpu_index} but found no MIG device"
            )
        except nvml.NVMLError as e:
            raise NvmlInstanceError(
                f"NVML refused to create {profile_name} at slot {start}: {e}"
            ) from None
        finally:
            nvml.nvmlShutdown()

    def destroy(self, gpu_index: int, profile_name: str, start: int) -> None:
        """Destroy the instance of ``profile_name`` at ``start`` (and its compute instances)."""
        nvml = self.nvml
        nvml.nvmlInit()
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(gpu_index)
            info, _size, _compute = self._profile_on(handle, profile_name)
            for gi in gpu_instances(nvml, handle, info.id, info.instanceCount):
                if nvml.nvmlGpuInstanceGetInfo(gi).placement.start != start:
                    continue
                for ci_profile in _CI_PROFILE_BY_COMPUTE.values():
                    try:
                        ci_info = nvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(
                            gi, ci_profile, _CI_ENGINE_SHARED
                        )
                        for ci in _compute_instances(nvml, gi, ci_info):
                            nvml.nvmlComputeInstanceDestroy(ci)
                    except nvml.NVMLError:
                        continue
                nvml.nvmlGpuInstanceDestroy(gi)
        finally:
            nvml.nvmlShutdown()


def _compute_instances(nvml: Any, gi: Any, ci_info: Any) -> list[Any]:
    buffer = (nvml.c_nvmlComputeInstance_t * max(1, int(ci_info.instanceCount)))()
    count = ctypes.c_uint(0)
    nvml.nvmlGpuInstanceGetComputeInstances(gi, ci_info.id, buffer, ctypes.byref(count))
    return [buffer[i] for i in range(count.value)]
