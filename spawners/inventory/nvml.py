"""Real GPUs through NVML (nvidia-ml-py).

Reading is split in two: ``take_snapshot`` asks NVML (the only I/O) and returns plain
data; ``inventory_from_snapshot`` turns that data into an Inventory. Tests replay
snapshots; a real node feeds live ones.

The MIG table of each GPU comes from NVML's own profile information: for every
``NVML_GPU_INSTANCE_PROFILE_*`` the GPU supports, ``nvmlDeviceGetGpuInstanceProfileInfo``
(compute slices, instances, memory, the profile's name) and
``nvmlDeviceGetGpuInstancePossiblePlacements`` (its start slots and size). Profile names
are mapped to the catalogue's canonical names by nvidia-smi's profile id on a model the
catalogue knows (so a driver that prints ``3g.39gb`` still offers ``3g.40gb``), else by
the name itself. Where NVML gives no profile information (MIG disabled, an old driver),
the GPU's table is the catalogue's for its device name."""

from __future__ import annotations

import ctypes
from typing import Any

from spawners.core.gpu_models import (
    CLASS_BY_NVML_PROFILE,
    MODELS_BY_KEY,
    OFFERED_CLASSES,
    canonical_profile_name,
    is_variant_name,
)
from spawners.core.model import Gpu, GpuMode, Inventory, MigInstance, MigStrategy
from spawners.core.profiles import (
    SLICES_BY_NAME,
    MigTable,
    SliceKind,
    SliceProfile,
    mig_slice,
    table_for_device,
)

NVML_GPU_INSTANCE_PROFILE_COUNT = 0x12
"""How many NVML_GPU_INSTANCE_PROFILE_* values to ask about (pynvml's own constant
where it has one)."""

OFFERED_NVML_PROFILES = frozenset(c.nvml_profile for c in OFFERED_CLASSES)
"""The NVML profiles the hub hands out: media-engine and graphics variants are not."""

# NVML GPU-instance profiles (NVML_GPU_INSTANCE_PROFILE_*) -> H100 80GB profile names.
# Kept for callers of the H100-only days; the inventory reads each GPU's own table.
PROFILE_BY_NVML_ID: dict[int, str] = {
    0: "1g.10gb",
    1: "2g.20gb",
    2: "3g.40gb",
    3: "4g.40gb",
    4: "7g.80gb",
    9: "1g.20gb",
}
NVML_ID_BY_PROFILE: dict[str, int] = {v: k for k, v in PROFILE_BY_NVML_ID.items()}

_INFO_FIELDS = (
    "id",
    "isP2pSupported",
    "sliceCount",
    "instanceCount",
    "multiprocessorCount",
    "copyEngineCount",
    "decoderCount",
    "encoderCount",
    "jpegCount",
    "ofaCount",
    "memorySizeMB",
)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _profile_count(nvml: Any) -> int:
    return int(getattr(nvml, "NVML_GPU_INSTANCE_PROFILE_COUNT", NVML_GPU_INSTANCE_PROFILE_COUNT))


def read_profile_info(nvml: Any, handle: Any, profile: int) -> dict[str, Any] | None:
    """nvmlDeviceGetGpuInstanceProfileInfo as data (the v2 struct, with its name, where
    the library has it); None where the GPU does not support ``profile``."""
    try:
        info = nvml.nvmlDeviceGetGpuInstanceProfileInfo(handle, profile)
    except nvml.NVMLError:
        return None
    out: dict[str, Any] = {f: int(getattr(info, f)) for f in _INFO_FIELDS}
    name = getattr(info, "name", b"")
    out["name"] = _text(name)
    return out


def read_possible_placements(nvml: Any, handle: Any, profile_id: int) -> list[dict[str, int]]:
    """nvmlDeviceGetGpuInstancePossiblePlacements as data: every start and size NVML
    allows for the profile (asked for the count first, as NVML allows)."""
    count = ctypes.c_uint(0)
    try:
        nvml.nvmlDeviceGetGpuInstancePossiblePlacements(
            handle, profile_id, None, ctypes.byref(count)
        )
        if count.value == 0:
            return []
        placements = (nvml.c_nvmlGpuInstancePlacement_t * count.value)()
        nvml.nvmlDeviceGetGpuInstancePossiblePlacements(
            handle, profile_id, placements, ctypes.byref(count)
        )
    except nvml.NVMLError:
        return []
    return [
        {"start": int(placements[i].start), "size": int(placements[i].size)}
        for i in range(count.value)
    ]


def gpu_instances(nvml: Any, handle: Any, profile_id: int, capacity: int) -> list[Any]:
    """The GPU instances of one profile that exist (nvmlDeviceGetGpuInstances)."""
    buffer = (nvml.c_nvmlGpuInstance_t * max(1, capacity))()
    count = ctypes.c_uint(0)
    nvml.nvmlDeviceGetGpuInstances(handle, profile_id, buffer, ctypes.byref(count))
    return [buffer[i] for i in range(count.value)]


def read_gpu_instance_profiles(nvml: Any, handle: Any) -> list[dict[str, Any]]:
    """Every GPU-instance profile the GPU supports, with its possible placements."""
    out = []
    for profile in range(_profile_count(nvml)):
        info = read_profile_info(nvml, handle, profile)
        if info is None:
            continue
        out.append(
            {
                "profile": profile,
                "info": info,
                "placements": read_possible_placements(nvml, handle, info["id"]),
            }
        )
    return out


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
            "gpu_instance_profiles": [],
            "instances": [],
        }
        if current:
            gpu["gpu_instance_profiles"] = read_gpu_instance_profiles(nvml, handle)
            table = mig_table_from_snapshot(gpu)
            for entry in gpu["gpu_instance_profiles"]:
                info = entry["info"]
                try:
                    existing = gpu_instances(nvml, handle, info["id"], info["instanceCount"])
                except nvml.NVMLError:
                    continue
                name = _instance_profile_name(table, entry)
                for gi in existing:
                    gi_info = nvml.nvmlGpuInstanceGetInfo(gi)
                    gpu["instances"].append(
                        {
                            "profile": name,
                            "profile_id": info["id"],
                            "start": int(gi_info.placement.start),
                            "size": int(gi_info.placement.size),
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


def _memory_mib(gpu: dict[str, Any]) -> int | None:
    total = gpu.get("memory_total")
    return int(total) // 2**20 if total else None


def _is_variant(entry: dict[str, Any]) -> bool:
    """A media-engine or graphics variant (``1g.10gb+me``): not handed out."""
    name = entry["info"].get("name") or ""
    if name:
        return is_variant_name(name)
    return entry["profile"] not in OFFERED_NVML_PROFILES


def _canonical_name(catalogue: MigTable | None, entry: dict[str, Any]) -> str:
    info = entry["info"]
    if catalogue is not None:
        model = MODELS_BY_KEY[catalogue.model]
        spec = model.by_profile_id(info["id"])
        cls = CLASS_BY_NVML_PROFILE.get(entry["profile"])
        if spec is not None and (cls is None or cls.compute == spec.cls.compute):
            return spec.name
    if info.get("name"):
        return canonical_profile_name(info["name"], None)
    return ""


def _instance_profile_name(table: MigTable | None, entry: dict[str, Any]) -> str:
    """The slice an existing instance of this profile is (its ``+me`` variant included)."""
    catalogue = table if table is not None and table.model else None
    name = _canonical_name(catalogue, entry)
    if name:
        return name
    cls = CLASS_BY_NVML_PROFILE.get(entry["profile"])
    if table is not None and cls is not None:
        match = next(
            (
                p
                for p in table.profiles
                if p.compute == cls.compute and p.memory_slots == cls.memory_slots
            ),
            None,
        )
        if match is not None:
            return match.name
    return ""


def mig_table_from_snapshot(gpu: dict[str, Any]) -> MigTable | None:
    """The MIG table of one GPU: from NVML's own profile information where the snapshot
    has it, else the catalogue's table for the device name (None if that is unknown)."""
    catalogue = table_for_device(gpu["name"], _memory_mib(gpu))
    profiles: list[SliceProfile] = []
    for entry in gpu.get("gpu_instance_profiles") or []:
        placements = entry.get("placements") or []
        if _is_variant(entry) or not placements:
            continue
        info = entry["info"]
        name = _canonical_name(catalogue, entry)
        reference = SLICES_BY_NAME.get(name)
        if reference is None or reference.kind is not SliceKind.MIG:
            continue  # a profile this site cannot name (a model the catalogue lacks)
        if any(p.name == name for p in profiles):
            continue
        profiles.append(
            mig_slice(
                name,
                placements[0]["size"],
                info["sliceCount"],
                tuple(sorted(p["start"] for p in placements)),
                reference.memory_gb,
                info["id"],
                entry["profile"],
            )
        )
    has_info = bool(gpu.get("gpu_instance_profiles"))
    if not has_info:
        return catalogue
    order = {n: i for i, n in enumerate(SLICES_BY_NAME)}
    profiles.sort(key=lambda p: (p.compute, p.memory_slots, order.get(p.name, 0)))
    if catalogue is not None:
        return MigTable(
            model=catalogue.model,
            label=catalogue.label,
            memory_gb=catalogue.memory_gb,
            profiles=tuple(profiles),
            source="nvml",
        )
    label = gpu["name"].removeprefix("NVIDIA ").strip() or gpu["name"]
    mib = _memory_mib(gpu)
    return MigTable(
        model="",
        label=label,
        memory_gb=round(mib / 1024) if mib else 0,
        profiles=tuple(profiles),
        source="nvml",
    )


def inventory_from_snapshot(snapshot: list[dict[str, Any]], node: str = "localhost") -> Inventory:
    """Real GPUs: MIG GPUs offer the instances that exist (static strategy)."""
    gpus = []
    for g in snapshot:
        mode = GpuMode.MIG if g["mig_mode"] else GpuMode.WHOLE
        table = mig_table_from_snapshot(g)
        instances = []
        for i in sorted(g["instances"], key=lambda i: i["start"]):
            if not i["uuid"] or not i.get("profile"):
                continue
            here = table.profile(i["profile"]) if table is not None else None
            size = int(i.get("size") or (here.memory_slots if here else 0))
            instances.append(MigInstance(i["profile"], i["start"], i["uuid"], size))
        gpus.append(
            Gpu(
                index=g["index"],
                uuid=g["uuid"],
                model=g["name"],
                mode=mode,
                memory_gb=round(g["memory_total"] / 2**30),
                node=node,
                instances=tuple(instances),
                mig=table,
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
