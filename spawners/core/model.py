"""The GPU and slice model: what exists (inventory), what is held (holdings),
what a request gets (placement) or why it does not (refusal). Plain values only.

Every GPU knows its model: ``Gpu.mig`` is the MIG table of that GPU (read from NVML on
a real node, else the catalogue's table for ``Gpu.model``), so a request for a profile
only some models have (``1g.18gb``: H200) only lands on a GPU that has it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

from .gpu_models import device_name_of
from .profiles import DEFAULT_TABLE, MEMORY_SLOTS, MigTable, SliceProfile, table_for_device
from .refusals import RefusalCode, Refused


class GpuMode(StrEnum):
    MIG = "mig"
    MPS = "mps"
    WHOLE = "whole"


class MigStrategy(StrEnum):
    STATIC = "static"
    """The GPU instances already exist; a request takes a free one."""
    DYNAMIC = "dynamic"
    """The allocator chooses the start slot; the instance is created for the request."""


@dataclass(frozen=True)
class MigInstance:
    """A GPU instance that exists on the device (static strategy)."""

    profile: str
    start: int
    uuid: str
    size: int = 0
    """Memory slots it takes; 0: the reference size of ``profile`` in the catalogue
    (what the builders of an inventory pass is the size on its GPU)."""

    @property
    def slots(self) -> frozenset[int]:
        from .profiles import slice_profile

        size = self.size or slice_profile(self.profile).memory_slots
        return frozenset(range(self.start, self.start + size))


@dataclass(frozen=True)
class Gpu:
    index: int
    uuid: str
    model: str
    mode: GpuMode
    memory_gb: int = 80
    node: str = "localhost"
    instances: tuple[MigInstance, ...] = ()
    """Existing MIG instances; only read under the static strategy."""
    mig: MigTable | None = None
    """The MIG profiles this GPU offers; None: the catalogue table of ``model`` (the
    H100 80GB table for a model the catalogue does not know)."""
    strategy: MigStrategy | None = None
    """This GPU's MIG strategy when it differs from its inventory's (a declared GPU with
    a layout is static on a dynamic site); None: the inventory's."""

    def __post_init__(self) -> None:
        if self.mig is None:
            object.__setattr__(self, "mig", table_for_device(self.model) or DEFAULT_TABLE)

    @property
    def table(self) -> MigTable:
        assert self.mig is not None
        return self.mig

    def mig_profile(self, name: str) -> SliceProfile | None:
        """This GPU's MIG profile ``name`` (with its geometry here), or None."""
        return self.table.profile(name)

    @property
    def family(self) -> str:
        """The GPU family users see: ``H200 141GB``."""
        return self.table.label


@dataclass(frozen=True)
class Inventory:
    gpus: tuple[Gpu, ...]
    strategy: MigStrategy = MigStrategy.DYNAMIC
    simulated: bool = False
    source: str = "simulated"

    def gpu(self, uuid: str) -> Gpu:
        for gpu in self.gpus:
            if gpu.uuid == uuid:
                return gpu
        raise KeyError(uuid)

    def gpu_model(self, uuid: str | None) -> str | None:
        """The catalogue key of GPU ``uuid``'s model (``h200-141gb``); None for no GPU,
        one this inventory lacks, or a model the catalogue does not know."""
        gpu = next((g for g in self.gpus if g.uuid == uuid), None) if uuid else None
        return (gpu.table.model or None) if gpu is not None else None

    def device_name(self, uuid: str | None) -> str | None:
        """The NVML name of GPU ``uuid`` (what Slurm and GPU Feature Discovery name its
        devices after); None for no GPU or one this inventory lacks."""
        gpu = next((g for g in self.gpus if g.uuid == uuid), None) if uuid else None
        return None if gpu is None else device_name_of(gpu.model)


@dataclass(frozen=True)
class Holding:
    """A slice someone holds now (reserved or active) on one GPU."""

    gpu_uuid: str
    slice_name: str
    slots: frozenset[int]
    start: int | None = None
    device_uuid: str | None = None


@dataclass(frozen=True)
class Placement:
    """Where a granted request goes. ``slots`` is empty for a CPU-only slice."""

    slice_name: str
    gpu_uuid: str | None = None
    gpu_index: int | None = None
    node: str | None = None
    start: int | None = None
    slots: frozenset[int] = field(default_factory=frozenset)
    device_uuid: str | None = None
    """What CUDA_VISIBLE_DEVICES names: a MIG UUID, a GPU UUID, or None for cpu
    (and for a dynamic MIG instance not created yet)."""
    gpu_hour_weight: Fraction | None = None
    """The share of its GPU this slice is charged (on the GPU it landed on: a
    ``1g.10gb`` is 1/7 of an H100 80GB but 1/4 of an A100 40GB); None: the name's
    reference weight."""

    def as_holding(self) -> Holding:
        if self.gpu_uuid is None:
            raise ValueError("a cpu placement holds no GPU")
        return Holding(self.gpu_uuid, self.slice_name, self.slots, self.start, self.device_uuid)


@dataclass(frozen=True)
class Refusal(Refused):
    """The allocator's refusal: NO_CAPACITY, NO_SUCH_SLICE or NOT_OFFERED, with what is
    free now."""

    code: RefusalCode
    slice_name: str
    free_now: dict[str, int]
    families: tuple[str, ...] = ()
    """NOT_OFFERED for a MIG slice: the catalogue's GPU families that have it."""

    @property
    def params(self) -> dict[str, Any]:  # type: ignore[override]
        return {"slice": self.slice_name, "free_now": self.free_now, "families": self.families}

    @property
    def message(self) -> str:  # type: ignore[override]
        offered = {name: n for name, n in self.free_now.items() if n > 0}
        free = ", ".join(f"{n} x {name}" for name, n in offered.items()) or "nothing"
        if self.code is RefusalCode.NO_CAPACITY:
            return f"No {self.slice_name} slice is free right now. Free now: {free}."
        if self.code is RefusalCode.NOT_OFFERED:
            where = f" (a profile of {' and '.join(self.families)} GPUs)" if self.families else ""
            return (
                f"This site has no GPU that can hold a {self.slice_name} slice{where}. "
                f"Free now: {free}."
            )
        return f"Unknown slice {self.slice_name!r}."


def full_mask() -> int:
    return (1 << MEMORY_SLOTS) - 1


def slots_mask(slots: frozenset[int] | set[int]) -> int:
    mask = 0
    for s in slots:
        mask |= 1 << s
    return mask


def profile_slots(profile: SliceProfile, start: int) -> frozenset[int]:
    return frozenset(range(start, start + profile.memory_slots))
