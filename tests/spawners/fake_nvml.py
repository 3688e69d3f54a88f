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


class CreatingNvml(ReplayNvml):
    """Also replays instance creation and destruction, recording the calls made."""

    def __init__(self, recorded: dict) -> None:
        super().__init__(recorded)
        self.calls: list[tuple] = []
        self.next_gi = 20

    def nvmlInit(self) -> None:
        self.calls.append(("init",))

    def nvmlShutdown(self) -> None:
        self.calls.append(("shutdown",))

    def c_nvmlGpuInstancePlacement_t(self) -> SimpleNamespace:
        return SimpleNamespace(start=None, size=None)

    def nvmlDeviceCreateGpuInstanceWithPlacement(
        self, handle: dict, profile_id: int, placement
    ) -> dict:
        for inst in handle["instances"]:
            lo, hi = inst["start"], inst["start"] + inst["size"]
            if lo < placement.start + placement.size and placement.start < hi:
                raise NVMLError("Insufficient Resources")
        self.next_gi += 1
        gi = {
            "nvml_profile": -1,
            "profile_id": profile_id,
            "gi_id": self.next_gi,
            "start": placement.start,
            "size": placement.size,
            "uuid": f"MIG-created-{self.next_gi}",
            "cis": [],
        }
        handle["instances"].append(gi)
        self.calls.append(("create_gi", profile_id, placement.start, placement.size))
        return gi

    def nvmlGpuInstanceGetComputeInstanceProfileInfo(
        self, gi: dict, ci_profile: int, engine: int
    ) -> SimpleNamespace:
        return SimpleNamespace(id=ci_profile)

    def nvmlGpuInstanceCreateComputeInstance(self, gi: dict, ci_profile_id: int) -> dict:
        gi["cis"].append(ci_profile_id)
        self.calls.append(("create_ci", gi["gi_id"], ci_profile_id))
        return {"ci": ci_profile_id}

    def nvmlGpuInstanceGetComputeInstances(self, gi: dict, ci_profile_id: int) -> list:
        return [c for c in gi.get("cis", []) if c == ci_profile_id]

    def nvmlComputeInstanceDestroy(self, ci) -> None:
        self.calls.append(("destroy_ci", ci))

    def nvmlGpuInstanceDestroy(self, gi: dict) -> None:
        for handle in self.gpus:
            handle["instances"] = [i for i in handle["instances"] if i["gi_id"] != gi["gi_id"]]
        self.calls.append(("destroy_gi", gi["gi_id"]))
