"""The slice catalogue: every slice a user can ask for, as data.

A slice is named once for the whole site. MIG slices are the profiles of the GPU models
in :mod:`spawners.core.gpu_models` (H100 80GB, H100 94GB, H200 141GB, A100 80GB and
40GB): every model names the same placement geometry (8 memory slots, 7 compute
slices, fixed valid start slots) in its own GB. A GPU knows its model through its
:class:`MigTable`, which gives each of its profiles the geometry and GPU-hour weight it
has *on that GPU* (``1g.10gb`` takes one memory slot of an H100 80GB but two of an A100
40GB); :func:`slice_profile` gives a name's reference profile, the one of the first
catalogue model that defines it.

MPS shares and whole GPUs are this project's names for slices of non-MIG GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from fractions import Fraction
from functools import cache
from typing import NamedTuple

from .gpu_models import (
    COMPUTE_SLICES,
    DEFAULT_MODEL,
    GPU_MODELS,
    MEMORY_SLOTS,
    MODELS_BY_KEY,
    GpuModel,
    canonical_profile_name,
    model_for_device,
)

__all__ = [
    "ALL_SLICES",
    "COMPUTE_SLICES",
    "CPU_ONLY",
    "H100_MIG_PROFILES",
    "MEMORY_SLOTS",
    "MIG_LARGEST_FIRST",
    "MIG_PROFILES",
    "MPS_SHARES",
    "SLICES_BY_NAME",
    "SLICE_NAMES",
    "WHOLE_GPU",
    "Geometry",
    "MigTable",
    "SliceKind",
    "SliceProfile",
    "catalogue_table",
    "mig_slice",
    "sibling_slices",
    "slice_profile",
    "slice_profile_on",
    "table_for_device",
]


class SliceKind(StrEnum):
    CPU = "cpu"
    MIG = "mig"
    MPS = "mps"
    GPU = "gpu"


class Geometry(NamedTuple):
    """Where a MIG profile can go on one GPU: what the placement arithmetic needs."""

    memory_slots: int
    compute: int
    valid_starts: tuple[int, ...]


@dataclass(frozen=True)
class SliceProfile:
    """One slice a user can request.

    ``memory_slots`` and ``compute`` are eighths of the GPU's memory and sevenths of its
    compute. ``valid_starts`` applies to MIG only: MPS shares take any free memory slots
    and a whole GPU takes all of them.
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
    profile_id: int | None = None
    """MIG only: nvidia-smi's profile ID (``nvidia-smi mig -cgi <id>:<start>``)."""
    nvml_profile: int | None = None
    """MIG only: the NVML_GPU_INSTANCE_PROFILE_* value of this profile."""

    @property
    def geometry(self) -> Geometry:
        return Geometry(self.memory_slots, self.compute, self.valid_starts)

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


def _mig(
    name: str,
    slots: int,
    compute: int,
    starts: tuple[int, ...],
    gb: int,
    profile_id: int | None = None,
    nvml_profile: int | None = None,
) -> SliceProfile:
    return SliceProfile(
        name=name,
        kind=SliceKind.MIG,
        memory_slots=slots,
        compute=compute,
        valid_starts=starts,
        memory_gb=gb,
        gpu_hour_weight=_weight(compute, slots),
        description=f"MIG instance: {compute}/7 of the compute, {gb} GB",
        profile_id=profile_id,
        nvml_profile=nvml_profile,
    )


mig_slice = _mig
"""A MIG SliceProfile of the given geometry (what a MigTable read from NVML holds)."""


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


def _largest_first(profiles: tuple[SliceProfile, ...]) -> tuple[SliceProfile, ...]:
    # The order in which fragmentation-aware placement protects capacity.
    return tuple(
        sorted(profiles, key=lambda p: (p.memory_slots * p.compute, p.memory_slots), reverse=True)
    )


@dataclass(frozen=True)
class MigTable:
    """The MIG profiles one GPU offers, with the geometry each has on it.

    Built from the catalogue for a known model (:func:`catalogue_table`) or, on a real
    node, from NVML's own profile information (``spawners.inventory.nvml``)."""

    model: str
    """The catalogue key (``h200-141gb``); empty for a model the catalogue lacks."""
    label: str
    """The family as users see it: ``H200 141GB``."""
    memory_gb: int
    profiles: tuple[SliceProfile, ...]
    source: str = "catalogue"
    """``catalogue`` or ``nvml`` (read from the GPU's own profile information)."""
    _by_name: dict[str, SliceProfile] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _largest: tuple[SliceProfile, ...] = field(
        default=(), init=False, repr=False, compare=False, hash=False
    )
    _geometries: tuple[Geometry, ...] = field(
        default=(), init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {p.name: p for p in self.profiles})
        largest = _largest_first(self.profiles)
        object.__setattr__(self, "_largest", largest)
        geometries: list[Geometry] = []
        for p in largest:
            if p.geometry not in geometries:
                geometries.append(p.geometry)
        object.__setattr__(self, "_geometries", tuple(geometries))

    def profile(self, name: str) -> SliceProfile | None:
        """This GPU's profile called ``name`` (aliases and ``+me`` variants accepted)."""
        found = self._by_name.get(name)
        if found is not None:
            return found
        return self._by_name.get(canonical_profile_name(name, MODELS_BY_KEY.get(self.model)))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    @property
    def largest_first(self) -> tuple[SliceProfile, ...]:
        return self._largest

    @property
    def geometries(self) -> tuple[Geometry, ...]:
        """Every profile's geometry, largest first (what capacity is measured in)."""
        return self._geometries

    def by_profile_id(self, profile_id: int) -> SliceProfile | None:
        return next((p for p in self.profiles if p.profile_id == profile_id), None)


def _table_of(model: GpuModel) -> MigTable:
    return MigTable(
        model=model.key,
        label=model.label,
        memory_gb=model.memory_gb,
        profiles=tuple(
            _mig(
                p.name,
                p.cls.memory_slots,
                p.cls.compute,
                p.cls.valid_starts,
                p.memory_gb,
                p.cls.profile_id,
                p.cls.nvml_profile,
            )
            for p in model.profiles
        ),
    )


CATALOGUE_TABLES: dict[str, MigTable] = {m.key: _table_of(m) for m in GPU_MODELS}
DEFAULT_TABLE: MigTable = CATALOGUE_TABLES[DEFAULT_MODEL.key]


def catalogue_table(model_key: str) -> MigTable:
    """The built-in table of a catalogue model; KeyError for an unknown key."""
    return CATALOGUE_TABLES[model_key]


@cache
def table_for_device(name: str, memory_mib: int | None = None) -> MigTable | None:
    """The catalogue table of a GPU by its (NVML or site-file) name; None if unknown."""
    model = model_for_device(name, memory_mib)
    return None if model is None else CATALOGUE_TABLES[model.key]


def _reference_profiles() -> tuple[SliceProfile, ...]:
    out: dict[str, SliceProfile] = {}
    for table in CATALOGUE_TABLES.values():
        for p in table.profiles:
            out.setdefault(p.name, p)
    return tuple(out.values())


H100_MIG_PROFILES: tuple[SliceProfile, ...] = DEFAULT_TABLE.profiles
"""The H100 80GB table (the simulated default)."""

MIG_PROFILES: tuple[SliceProfile, ...] = _reference_profiles()
"""Every MIG slice name of the catalogue, each with its reference geometry."""

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

ALL_SLICES: tuple[SliceProfile, ...] = (CPU_ONLY, *MIG_PROFILES, *MPS_SHARES, WHOLE_GPU)
SLICES_BY_NAME: dict[str, SliceProfile] = {s.name: s for s in ALL_SLICES}
SLICE_NAMES: tuple[str, ...] = tuple(SLICES_BY_NAME)

MIG_LARGEST_FIRST: tuple[SliceProfile, ...] = DEFAULT_TABLE.largest_first
"""The H100 80GB profiles, largest first."""


def sibling_slices(name: str) -> tuple[str, ...]:
    """Every slice a GPU that can hold ``name`` may also offer: for a MIG slice, the
    profiles of every catalogue model that has it (``1g.18gb`` -> the H200's), else every
    slice that is not MIG. What to choose among when the GPU itself is not known."""
    profile = SLICES_BY_NAME.get(name)
    if profile is None or profile.kind is not SliceKind.MIG:
        return tuple(n for n, p in SLICES_BY_NAME.items() if p.kind is not SliceKind.MIG)
    names = {
        p.name for t in CATALOGUE_TABLES.values() if t.profile(name) is not None for p in t.profiles
    }
    return tuple(n for n in SLICES_BY_NAME if n in names)


def slice_profile(name: str) -> SliceProfile:
    """The (reference) profile called ``name``; KeyError for an unknown name."""
    return SLICES_BY_NAME[name]


def no_larger(name: str, than: str) -> bool:
    """Slice ``name`` is no larger than slice ``than``: neither more of a GPU's compute
    and memory share (the GPU-hour weight) nor more of its memory slots, so 2g.20gb
    admits 1g.20gb and mps.20gb. A share of one GPU whatever its model: 1g.18gb of an
    H200 is no larger than 1g.10gb of an H100. KeyError for an unknown name."""
    if name == than:
        return True
    want, cap = slice_profile(name), slice_profile(than)
    return want.gpu_hour_weight <= cap.gpu_hour_weight and want.memory_slots <= cap.memory_slots


def slice_profile_on(name: str, model_key: str | None) -> SliceProfile:
    """The profile called ``name`` as it is on a GPU of catalogue model ``model_key``:
    a whole H200 has 141 GB (the reference ``gpu`` has an H100's 80), an A100 40GB's
    ``1g.10gb`` takes two memory slots and a quarter of the GPU-hours (an H100's one and
    a seventh). MPS shares and ``cpu`` are the same on every model; an unknown or absent
    model gives the reference profile. KeyError for an unknown name."""
    profile = SLICES_BY_NAME[name]
    table = CATALOGUE_TABLES.get(model_key or "")
    if table is None:
        return profile
    if profile.kind is SliceKind.MIG:
        return table.profile(name) or profile
    if profile.kind is SliceKind.GPU:
        return replace(profile, memory_gb=table.memory_gb)
    return profile
