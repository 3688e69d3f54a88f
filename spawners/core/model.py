"""The GPU and slice model: what exists (inventory), what is held (holdings),
what a request gets (placement) or why it does not (refusal). Plain values only."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .profiles import MEMORY_SLOTS, SliceProfile


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

    @property
    def slots(self) -> frozenset[int]:
        from .profiles import slice_profile

        size = slice_profile(self.profile).memory_slots
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

    def as_holding(self) -> Holding:
        if self.gpu_uuid is None:
            raise ValueError("a cpu placement holds no GPU")
        return Holding(self.gpu_uuid, self.slice_name, self.slots, self.start, self.device_uuid)


class RefusalCode(StrEnum):
    NO_CAPACITY = "no-capacity"
    NO_SUCH_SLICE = "no-such-slice"
    NOT_OFFERED = "not-offered"
    """No GPU in this inventory can ever hold the slice (e.g. an MPS share on MIG GPUs)."""


@dataclass(frozen=True)
class Refusal:
    code: RefusalCode
    slice_name: str
    free_now: dict[str, int]

    @property
    def message(self) -> str:
        offered = {name: n for name, n in self.free_now.items() if n > 0}
        free = ", ".join(f"{n} x {name}" for name, n in offered.items()) or "nothing"
        if self.code is RefusalCode.NO_CAPACITY:
            return f"No {self.slice_name} slice is free right now. Free now: {free}."
        if self.code is RefusalCode.NOT_OFFERED:
            return (
                f"This site has no GPU that can hold a {self.slice_name} slice. Free now: {free}."
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
