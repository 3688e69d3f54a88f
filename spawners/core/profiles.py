"""The slice catalogue: every slice a user can ask for, as data.

MIG facts are the H100 80GB table (NVIDIA MIG User Guide, ``nvidia-smi mig -lgip``):
placement runs over 8 memory slots and each profile has fixed valid start slots.
MPS shares and whole GPUs are this project's names for slices of non-MIG GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

MEMORY_SLOTS = 8
"""Memory slots of one GPU (an H100 80GB has 8 of 10 GB)."""

COMPUTE_SLICES = 7
"""Compute slices of one MIG-enabled H100."""


class SliceKind(StrEnum):
    CPU = "cpu"
    MIG = "mig"
    MPS = "mps"
    GPU = "gpu"


@dataclass(frozen=True)
class SliceProfile:
    """One slice a user can request.

    ``memory_slots`` and ``compute`` are in units of an H100 80GB (8 memory slots,
    7 compute slices). ``valid_starts`` applies to MIG only: MPS shares take any free
    memory slots and a whole GPU takes all of them.
    """

    name: str
    kind: SliceKind
    memory_slots: int
    compute: int
    valid_starts: tuple[int, ...]
    memory_gb: int
    gpu_hour_weight: Fraction
    mps_thread_percentage: int | None = None
    description: str = ""

    @property
    def max_per_gpu(self) -> int:
        if self.kind is SliceKind.MIG:
            return min(len(self.valid_starts), COMPUTE_SLICES // self.compute)
        if self.kind is SliceKind.MPS:
            return MEMORY_SLOTS // self.memory_slots
        return 1 if self.kind is SliceKind.GPU else 0

    @property
    def needs_gpu(self) -> bool:
        return self.kind is not SliceKind.CPU


def _weight(compute: int, memory_slots: int) -> Fraction:
    # GPU-hours are charged by the larger of the compute share and the memory share,
    # so a memory-heavy 1g.20gb costs like the quarter of the GPU it blocks.
    return max(Fraction(compute, COMPUTE_SLICES), Fraction(memory_slots, MEMORY_SLOTS))


def _mig(name: str, slots: int, compute: int, starts: tuple[int, ...], gb: int) -> SliceProfile:
    return SliceProfile(
        name=name,
        kind=SliceKind.MIG,
        memory_slots=slots,
        compute=compute,
        valid_starts=starts,
        memory_gb=gb,
        gpu_hour_weight=_weight(compute, slots),
        description=f"MIG instance: {compute}/7 of the compute, {gb} GB",
    )


def _mps(name: str, slots: int, threads: int) -> SliceProfile:
    return SliceProfile(
        name=name,
        kind=SliceKind.MPS,
        memory_slots=slots,
        compute=0,
        valid_starts=(),
        memory_gb=slots * 10,
        gpu_hour_weight=Fraction(slots, MEMORY_SLOTS),
        mps_thread_percentage=threads,
        description=f"MPS share of a whole GPU: {threads}% of the SMs, {slots * 10} GB pinned",
    )


H100_MIG_PROFILES: tuple[SliceProfile, ...] = (
    _mig("1g.10gb", 1, 1, (0, 1, 2, 3, 4, 5, 6), 10),
    _mig("1g.20gb", 2, 1, (0, 2, 4, 6), 20),
    _mig("2g.20gb", 2, 2, (0, 2, 4), 20),
    _mig("3g.40gb", 4, 3, (0, 4), 40),
    _mig("4g.40gb", 4, 4, (0,), 40),
    _mig("7g.80gb", 8, 7, (0,), 80),
)

MPS_SHARES: tuple[SliceProfile, ...] = (
    _mps("mps.10gb", 1, 13),
    _mps("mps.20gb", 2, 25),
    _mps("mps.40gb", 4, 50),
)

WHOLE_GPU = SliceProfile(
    name="gpu",
    kind=SliceKind.GPU,
    memory_slots=MEMORY_SLOTS,
    compute=COMPUTE_SLICES,
    valid_starts=(0,),
    memory_gb=80,
    gpu_hour_weight=Fraction(1),
    description="A whole GPU that is not in MIG mode",
)

CPU_ONLY = SliceProfile(
    name="cpu",
    kind=SliceKind.CPU,
    memory_slots=0,
    compute=0,
    valid_starts=(),
    memory_gb=0,
    gpu_hour_weight=Fraction(0),
    description="No GPU: CPU only",
)

ALL_SLICES: tuple[SliceProfile, ...] = (CPU_ONLY, *H100_MIG_PROFILES, *MPS_SHARES, WHOLE_GPU)
SLICES_BY_NAME: dict[str, SliceProfile] = {s.name: s for s in ALL_SLICES}
SLICE_NAMES: tuple[str, ...] = tuple(SLICES_BY_NAME)

# Largest first: the order in which fragmentation-aware placement protects capacity.
MIG_LARGEST_FIRST: tuple[SliceProfile, ...] = tuple(
    sorted(
        H100_MIG_PROFILES, key=lambda p: (p.memory_slots * p.compute, p.memory_slots), reverse=True
    )
)


def slice_profile(name: str) -> SliceProfile:
    """The profile called ``name``; KeyError for an unknown name."""
    return SLICES_BY_NAME[name]
