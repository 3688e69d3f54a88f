"""A stand-in for the ``pynvml`` module (nvidia-ml-py) that replays recorded NVML data.

What cannot run here is a GPU, so this answers the calls the inventory and the instance
manager make, with the real library's signatures and types: the structures are pynvml's
own ctypes structures (``c_nvmlGpuInstanceProfileInfo_v2_t``,
``c_nvmlGpuInstancePlacement_t``, GPU- and compute-instance handles), buffers are filled
the way NVML fills them (a NULL placements buffer asks for the count), and failures are
pynvml's own ``NVMLError`` with NVML's codes. The data comes from the recorded NVML
snapshots of each model (``tests/core/fixtures/mig/*.nvml.json``)."""

from __future__ import annotations

import copy
import ctypes
import json
from pathlib import Path
from typing import Any

import pynvml

MIG_FIXTURES = Path(__file__).parent.parent / "core" / "fixtures" / "mig"


def recorded_model(model: str) -> dict[str, Any]:
    """The recorded NVML snapshot of one GPU model (``h200-141gb``...)."""
    return json.loads((MIG_FIXTURES / f"{model}.nvml.json").read_text())


def device(
    model: str,
    uuid: str,
    mig_mode: int = 1,
    instances: list[tuple[str, int]] | None = None,
) -> dict[str, Any]:
    """A device of a recorded model, MIG mode on or off, with GPU instances (profile
    name as the driver names it, start slot) that exist on it, each with one compute
    instance spanning it (what ``nvidia-smi mig -cgi ... -C`` leaves)."""
    recorded = recorded_model(model)["device"]
    dev = {
        "uuid": uuid,
        "name": recorded["name"],
        "memory_total": recorded["memory_total"],
        "mig_mode": mig_mode,
        "gpu_instance_profiles": copy.deepcopy(recorded["gpu_instance_profiles"]),
        "gpu_instances": [],
    }
    by_name = {e["info"]["name"].removeprefix("MIG "): e for e in dev["gpu_instance_profiles"]}
    for n, (name, start) in enumerate(instances or []):
        entry = by_name[name]
        size = entry["placements"][0]["size"]
        dev["gpu_instances"].append(
            {
                "id": n + 1,
                "profile_id": entry["info"]["id"],
                "start": start,
                "size": size,
                "uuid": f"MIG-{uuid[4:12]}-{n + 1:04d}-5a0e-9c1a-{start:012d}",
                "compute_instances": [entry["info"]["sliceCount"]],
            }
        )
    return dev


def _error(code: int) -> pynvml.NVMLError:
    return pynvml.NVMLError(code)


class FakeNvml:
    """Enough of pynvml for the inventory (``take_snapshot``) and NvmlInstanceManager."""

    NVMLError = pynvml.NVMLError
    NVML_GPU_INSTANCE_PROFILE_COUNT = pynvml.NVML_GPU_INSTANCE_PROFILE_COUNT
    c_nvmlGpuInstancePlacement_t = pynvml.c_nvmlGpuInstancePlacement_t
    c_nvmlGpuInstance_t = pynvml.c_nvmlGpuInstance_t
    c_nvmlComputeInstance_t = pynvml.c_nvmlComputeInstance_t

    def __init__(self, devices: list[dict[str, Any]]) -> None:
        self.devices = devices
        self.calls: list[tuple] = []
        self.initialised = 0

    # --- library ---------------------------------------------------------------

    def nvmlInit(self) -> None:
        self.initialised += 1
        self.calls.append(("init",))

    def nvmlShutdown(self) -> None:
        self.initialised -= 1
        self.calls.append(("shutdown",))

    # --- devices ---------------------------------------------------------------

    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> dict:
        if not 0 <= index < len(self.devices):
            raise _error(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return self.devices[index]

    def nvmlDeviceGetUUID(self, handle: dict) -> str:
        return handle["mig"]["uuid"] if "mig" in handle else handle["uuid"]

    def nvmlDeviceGetName(self, handle: dict) -> str:
        return handle["name"]

    def nvmlDeviceGetMemoryInfo(self, handle: dict) -> pynvml.c_nvmlMemory_t:
        info = pynvml.c_nvmlMemory_t()
        info.total = handle["memory_total"]
        info.free = handle["memory_total"]
        info.used = 0
        return info

    def nvmlDeviceGetMigMode(self, handle: dict) -> list[int]:
        return [handle["mig_mode"], handle["mig_mode"]]

    # --- GPU-instance profiles -------------------------------------------------

    def _entry(self, handle: dict, *, profile: int | None = None, profile_id: int | None = None):
        if not handle["mig_mode"]:
            raise _error(pynvml.NVML_ERROR_NOT_SUPPORTED)
        for entry in handle["gpu_instance_profiles"]:
            if profile is not None and entry["profile"] == profile:
                return entry
            if profile_id is not None and entry["info"]["id"] == profile_id:
                return entry
        if profile is not None and profile >= pynvml.NVML_GPU_INSTANCE_PROFILE_COUNT:
            raise _error(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        raise _error(pynvml.NVML_ERROR_NOT_SUPPORTED)

    def nvmlDeviceGetGpuInstanceProfileInfo(self, handle: dict, profile: int, version: int = 2):
        entry = self._entry(handle, profile=profile)
        info = (
            pynvml.c_nvmlGpuInstanceProfileInfo_v2_t()
            if version == 2
            else pynvml.c_nvmlGpuInstanceProfileInfo_t()
        )
        for key, value in entry["info"].items():
            if key == "name":
                if version == 2:
                    info.name = value.encode()
                continue
            setattr(info, key, value)
        return info

    def nvmlDeviceGetGpuInstancePossiblePlacements(
        self, handle: dict, profile_id: int, placements_ref: Any, count_ref: Any
    ) -> int:
        allowed = self._entry(handle, profile_id=profile_id)["placements"]
        count = count_ref._obj
        if placements_ref is None:
            count.value = len(allowed)
            return pynvml.NVML_SUCCESS
        if count.value < len(allowed):
            raise _error(pynvml.NVML_ERROR_INSUFFICIENT_SIZE)
        for i, p in enumerate(allowed):
            placements_ref[i].start = p["start"]
            placements_ref[i].size = p["size"]
        count.value = len(allowed)
        return pynvml.NVML_SUCCESS

    # --- GPU instances ---------------------------------------------------------

    def _gi_handle(self, handle: dict, gi: dict) -> Any:
        key = self.devices.index(handle) * 1000 + gi["id"] + 1
        return ctypes.cast(ctypes.c_void_p(key), pynvml.c_nvmlGpuInstance_t)

    def _gi(self, gi_handle: Any) -> tuple[dict, dict]:
        key = ctypes.cast(gi_handle, ctypes.c_void_p).value - 1
        handle = self.devices[key // 1000]
        for gi in handle["gpu_instances"]:
            if gi["id"] == key % 1000:
                return handle, gi
        raise _error(pynvml.NVML_ERROR_NOT_FOUND)

    def nvmlDeviceGetGpuInstances(
        self, handle: dict, profile_id: int, instances_ref: Any, count_ref: Any
    ) -> int:
        entry = self._entry(handle, profile_id=profile_id)
        mine = [gi for gi in handle["gpu_instances"] if gi["profile_id"] == profile_id]
        if len(instances_ref) < entry["info"]["instanceCount"]:
            raise _error(pynvml.NVML_ERROR_INSUFFICIENT_SIZE)
        for i, gi in enumerate(mine):
            instances_ref[i] = self._gi_handle(handle, gi)
        count_ref._obj.value = len(mine)
        return pynvml.NVML_SUCCESS

    def nvmlGpuInstanceGetInfo(self, gi_handle: Any) -> pynvml.c_nvmlGpuInstanceInfo_t:
        _handle, gi = self._gi(gi_handle)
        info = pynvml.c_nvmlGpuInstanceInfo_t()
        info.id = gi["id"]
        info.profileId = gi["profile_id"]
        info.placement.start = gi["start"]
        info.placement.size = gi["size"]
        return info

    def nvmlDeviceCreateGpuInstanceWithPlacement(
        self, handle: dict, profile_id: int, placement: Any
    ) -> Any:
        entry = self._entry(handle, profile_id=profile_id)
        start, size = int(placement.start), int(placement.size)
        if {"start": start, "size": size} not in entry["placements"]:
            raise _error(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        same = [gi for gi in handle["gpu_instances"] if gi["profile_id"] == profile_id]
        overlap = any(
            gi["start"] < start + size and start < gi["start"] + gi["size"]
            for gi in handle["gpu_instances"]
        )
        compute = sum(
            self._entry(handle, profile_id=gi["profile_id"])["info"]["sliceCount"]
            for gi in handle["gpu_instances"]
        )
        if (
            overlap
            or len(same) >= entry["info"]["instanceCount"]
            or compute + entry["info"]["sliceCount"] > 7
        ):
            raise _error(pynvml.NVML_ERROR_INSUFFICIENT_RESOURCES)
        gi = {
            "id": max((g["id"] for g in handle["gpu_instances"]), default=0) + 1,
            "profile_id": profile_id,
            "start": start,
            "size": size,
            "uuid": "",
            "compute_instances": [],
        }
        handle["gpu_instances"].append(gi)
        self.calls.append(("create_gi", profile_id, start, size))
        return self._gi_handle(handle, gi)

    def nvmlGpuInstanceDestroy(self, gi_handle: Any) -> int:
        handle, gi = self._gi(gi_handle)
        if gi["compute_instances"]:
            raise _error(pynvml.NVML_ERROR_IN_USE)
        handle["gpu_instances"].remove(gi)
        self.calls.append(("destroy_gi", gi["id"]))
        return pynvml.NVML_SUCCESS

    # --- compute instances -----------------------------------------------------

    def nvmlGpuInstanceGetComputeInstanceProfileInfo(
        self, gi_handle: Any, profile: int, eng_profile: int, version: int = 2
    ) -> Any:
        handle, gi = self._gi(gi_handle)
        slices = self._entry(handle, profile_id=gi["profile_id"])["info"]["sliceCount"]
        ci_slices = {0: 1, 1: 2, 2: 3, 3: 4, 4: 7}.get(profile)
        if ci_slices is None or ci_slices > slices:
            raise _error(pynvml.NVML_ERROR_NOT_SUPPORTED)
        info = pynvml.c_nvmlComputeInstanceProfileInfo_v2_t()
        info.id = profile
        info.sliceCount = ci_slices
        info.instanceCount = slices // ci_slices
        return info

    def nvmlGpuInstanceCreateComputeInstance(self, gi_handle: Any, profile_id: int) -> Any:
        _handle, gi = self._gi(gi_handle)
        gi["compute_instances"].append(profile_id)
        if not gi["uuid"]:
            gi["uuid"] = f"MIG-created-{gi['id']:04d}-{gi['start']}"
        self.calls.append(("create_ci", gi["id"], profile_id))
        return self._ci_handle(gi_handle, len(gi["compute_instances"]) - 1)

    def _ci_handle(self, gi_handle: Any, n: int) -> Any:
        gi_key = ctypes.cast(gi_handle, ctypes.c_void_p).value
        return ctypes.cast(ctypes.c_void_p(gi_key * 100 + n + 1), pynvml.c_nvmlComputeInstance_t)

    def _ci(self, ci_handle: Any) -> tuple[dict, int]:
        key = ctypes.cast(ci_handle, ctypes.c_void_p).value
        gi_handle = ctypes.cast(ctypes.c_void_p(key // 100), pynvml.c_nvmlGpuInstance_t)
        return self._gi(gi_handle)[1], key % 100 - 1

    def nvmlGpuInstanceGetComputeInstances(
        self, gi_handle: Any, profile_id: int, instances_ref: Any, count_ref: Any
    ) -> int:
        _handle, gi = self._gi(gi_handle)
        mine = [n for n, p in enumerate(gi["compute_instances"]) if p == profile_id]
        for i, n in enumerate(mine):
            instances_ref[i] = self._ci_handle(gi_handle, n)
        count_ref._obj.value = len(mine)
        return pynvml.NVML_SUCCESS

    def nvmlComputeInstanceDestroy(self, ci_handle: Any) -> int:
        gi, n = self._ci(ci_handle)
        gi["compute_instances"].pop(n)
        self.calls.append(("destroy_ci", gi["id"]))
        return pynvml.NVML_SUCCESS

    # --- MIG devices -----------------------------------------------------------

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: dict) -> int:
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: dict, index: int) -> dict:
        with_ci = [gi for gi in handle["gpu_instances"] if gi["compute_instances"]]
        if index >= len(with_ci):
            raise _error(pynvml.NVML_ERROR_NOT_FOUND)
        return {"mig": with_ci[index]}

    def nvmlDeviceGetGpuInstanceId(self, mig: dict) -> int:
        return mig["mig"]["id"]
