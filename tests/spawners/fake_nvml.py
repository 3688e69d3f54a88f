"""Replays a recorded NVML view through the pynvml calls the inventory makes.

A stand-in for what cannot run here (a GPU); the data comes from a real node's report."""

from __future__ import annotations

from types import SimpleNamespace


class NVMLError(Exception):
    pass


class ReplayNvml:
    NVMLError = NVMLError

    def __init__(self, recorded: dict) -> None:
        self.gpus = recorded["gpus"]

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> dict:
        return self.gpus[index]

    def nvmlDeviceGetMigMode(self, handle: dict) -> tuple[int, int]:
        return handle["mig_mode"], handle["mig_mode"]

    def nvmlDeviceGetUUID(self, handle: dict) -> bytes:
        return handle["uuid"].encode()

    def nvmlDeviceGetName(self, handle: dict) -> str:
        return handle["name"]

    def nvmlDeviceGetMemoryInfo(self, handle: dict) -> SimpleNamespace:
        return SimpleNamespace(total=handle["memory_total"])

    def nvmlDeviceGetGpuInstanceProfileInfo(
        self, handle: dict, nvml_profile: int
    ) -> SimpleNamespace:
        for inst in handle["instances"]:
            if inst["nvml_profile"] == nvml_profile:
                return SimpleNamespace(id=inst["profile_id"])
        if nvml_profile > 9:
            raise NVMLError("not supported")
        return SimpleNamespace(id=1000 + nvml_profile)

    def nvmlDeviceGetGpuInstances(self, handle: dict, profile_id: int) -> list[dict]:
        return [dict(i, gpu=handle) for i in handle["instances"] if i["profile_id"] == profile_id]

    def nvmlGpuInstanceGetInfo(self, gi: dict) -> SimpleNamespace:
        return SimpleNamespace(
            id=gi["gi_id"], placement=SimpleNamespace(start=gi["start"], size=gi["size"])
        )

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: dict) -> int:
        return 7

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: dict, i: int) -> dict:
        if i >= len(handle["instances"]):
            raise NVMLError("no such MIG device")
        return handle["instances"][i]

    def nvmlDeviceGetGpuInstanceId(self, mig: dict) -> int:
        return mig["gi_id"]
