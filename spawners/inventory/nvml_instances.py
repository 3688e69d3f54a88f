"""Create and destroy MIG GPU instances through NVML, for the dynamic strategy on real
GPUs (`gpus.nvml_create_instances: true`). Needs root and GPUs that no other tool
partitions: the hub then owns every instance on them. Off by default."""

from __future__ import annotations

from typing import Any

from spawners.core.profiles import slice_profile
from spawners.inventory.nvml import NVML_ID_BY_PROFILE

# NVML_COMPUTE_INSTANCE_PROFILE_<n>_SLICE for n compute slices (one CI spanning the GI).
_CI_PROFILE_BY_COMPUTE = {1: 0, 2: 1, 3: 2, 4: 3, 7: 4}
_CI_ENGINE_SHARED = 0


class NvmlInstanceError(RuntimeError):
    pass


class NvmlInstanceManager:
    def __init__(self, nvml: Any) -> None:
        self.nvml = nvml

    def create(self, gpu_index: int, profile_name: str, start: int) -> str:
        """Create the GPU instance and its compute instance; return the MIG device UUID."""
        nvml = self.nvml
        profile = slice_profile(profile_name)
        nvml.nvmlInit()
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(gpu_index)
            info = nvml.nvmlDeviceGetGpuInstanceProfileInfo(
                handle, NVML_ID_BY_PROFILE[profile_name]
            )
            placement = nvml.c_nvmlGpuInstancePlacement_t()
            placement.start = start
            placement.size = profile.memory_slots
            gi = nvml.nvmlDeviceCreateGpuInstanceWithPlacement(handle, info.id, placement)
            ci_info = nvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(
                gi, _CI_PROFILE_BY_COMPUTE[profile.compute], _CI_ENGINE_SHARED
            )
            nvml.nvmlGpuInstanceCreateComputeInstance(gi, ci_info.id)
            gi_id = nvml.nvmlGpuInstanceGetInfo(gi).id
            for i in range(nvml.nvmlDeviceGetMaxMigDeviceCount(handle)):
                try:
                    mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, i)
                except nvml.NVMLError:
                    continue
                if nvml.nvmlDeviceGetGpuInstanceId(mig) == gi_id:
                    uuid = nvml.nvmlDeviceGetUUID(mig)
                    return uuid.decode() if isinstance(uuid, bytes) else str(uuid)
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
            info = nvml.nvmlDeviceGetGpuInstanceProfileInfo(
                handle, NVML_ID_BY_PROFILE[profile_name]
            )
            for gi in nvml.nvmlDeviceGetGpuInstances(handle, info.id):
                if nvml.nvmlGpuInstanceGetInfo(gi).placement.start != start:
                    continue
                for ci_profile in _CI_PROFILE_BY_COMPUTE.values():
                    try:
                        ci_info = nvml.nvmlGpuInstanceGetComputeInstanceProfileInfo(
                            gi, ci_profile, _CI_ENGINE_SHARED
                        )
                        for ci in nvml.nvmlGpuInstanceGetComputeInstances(gi, ci_info.id):
                            nvml.nvmlComputeInstanceDestroy(ci)
                    except nvml.NVMLError:
                        continue
                nvml.nvmlGpuInstanceDestroy(gi)
        finally:
            nvml.nvmlShutdown()
