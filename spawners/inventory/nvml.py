"""Real GPUs through NVML (nvidia-ml-py).

Reading is split in two: ``take_snapshot`` asks NVML (the only I/O) and returns plain
data; ``inventory_from_snapshot`` turns that data into an Inventory. Tests replay
snapshots; a real node feeds live ones."""

from __future__ import annotations

from typing import Any

from spawners.core.model import Gpu, GpuMode, Inventory, MigInstance, MigStrategy

# NVML GPU-instance profile ids (NVML_GPU_INSTANCE_PROFILE_*) -> H100 80GB profile names.
PROFILE_BY_NVML_ID: dict[int, str] = {
    0: "1g.10gb",
    1: "2g.20gb",
    2: "3g.40gb",
    3: "4g.40gb",
    4: "7g.80gb",
    9: "1g.20gb",
}
NVML_ID_BY_PROFILE: dict[str, int] = {v: k for k, v in PROFILE_BY_NVML_ID.items()}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def take_snapshot(nvml: Any) -> list[dict[str, Any]]:
    """Everything the inventory needs from NVML, as JSON-able data.

    ``nvml`` is the ``pynvml`` module (nvidia-ml-py); the caller has called nvmlInit."""
    gpus = []
    for index in range(nvml.nvmlDeviceGetCount()):
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
        try:
            current, _pending = nvml.nvmlDeviceGetMigMode(handle)
        except nvml.NVMLError:
            current = 0
        gpu: dict[str, Any] = {
            "index": index,
            "uuid": _text(nvml.nvmlDeviceGetUUID(handle)),
            "name": _text(nvml.nvmlDeviceGetName(handle)),
            "memory_total": int(nvml.nvmlDeviceGetMemoryInfo(handle).total),
            "mig_mode": int(current),
            "instances": [],
        }
        if current:
            for nvml_id, name in PROFILE_BY_NVML_ID.items():
                try:
                    info = nvml.nvmlDeviceGetGpuInstanceProfileInfo(handle, nvml_id)
                    instances = nvml.nvmlDeviceGetGpuInstances(handle, info.id)
                except nvml.NVMLError:
                    continue
                for gi in instances:
                    gi_info = nvml.nvmlGpuInstanceGetInfo(gi)
                    gpu["instances"].append(
                        {
                            "profile": name,
                            "start": int(gi_info.placement.start),
                            "uuid": _mig_uuid(nvml, handle, gi_info),
                        }
                    )
        gpus.append(gpu)
    return gpus


def _mig_uuid(nvml: Any, handle: Any, gi_info: Any) -> str:
    # The MIG device UUID belongs to the compute instance's device handle.
    count = nvml.nvmlDeviceGetMaxMigDeviceCount(handle)
    for i in range(count):
        try:
            mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, i)
        except nvml.NVMLError:
            continue
        if nvml.nvmlDeviceGetGpuInstanceId(mig) == gi_info.id:
            return _text(nvml.nvmlDeviceGetUUID(mig))
    return ""


def inventory_from_snapshot(snapshot: list[dict[str, Any]], node: str = "localhost") -> Inventory:
    """Real GPUs: MIG GPUs offer the instances that exist (static strategy)."""
    gpus = []
    for g in snapshot:
        mode = GpuMode.MIG if g["mig_mode"] else GpuMode.WHOLE
        instances = tuple(
            MigInstance(i["profile"], i["start"], i["uuid"])
            for i in sorted(g["instances"], key=lambda i: i["start"])
            if i["uuid"]
        )
        gpus.append(
            Gpu(
                index=g["index"],
                uuid=g["uuid"],
                model=g["name"],
                mode=mode,
                memory_gb=round(g["memory_total"] / 2**30),
                node=node,
                instances=instances,
            )
        )
    return Inventory(gpus=tuple(gpus), strategy=MigStrategy.STATIC, simulated=False, source="nvml")


def probe_nvml() -> list[dict[str, Any]] | None:
    """A live snapshot, or None where there is no NVML or no GPU."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:
        return None
    try:
        snapshot = take_snapshot(pynvml)
    finally:
        pynvml.nvmlShutdown()
    return snapshot or None
