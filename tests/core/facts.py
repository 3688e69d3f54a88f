"""The MIG facts, written out independently of ``spawners.core`` (from DESIGN.md and
NVIDIA's MIG User Guide, "Supported MIG Profiles"), so the tests check the code against
the tables instead of against itself. ``MIG_TABLE`` is the H100 80GB (the simulated
default); ``MODEL_TABLES`` every catalogue model."""

from __future__ import annotations

from dataclasses import dataclass

MEMORY_SLOTS = 8
COMPUTE_SLICES = 7


@dataclass(frozen=True)
class MigFact:
    name: str
    memory_slots: int
    compute: int
    max_per_gpu: int
    valid_starts: tuple[int, ...]
    memory_gb: int


MIG_TABLE: dict[str, MigFact] = {
    f.name: f
    for f in (
        MigFact("1g.10gb", 1, 1, 7, (0, 1, 2, 3, 4, 5, 6), 10),
        MigFact("1g.20gb", 2, 1, 4, (0, 2, 4, 6), 20),
        MigFact("2g.20gb", 2, 2, 3, (0, 2, 4), 20),
        MigFact("3g.40gb", 4, 3, 2, (0, 4), 40),
        MigFact("4g.40gb", 4, 4, 1, (0,), 40),
        MigFact("7g.80gb", 8, 7, 1, (0,), 80),
    )
}


@dataclass(frozen=True)
class ModelFact:
    key: str
    label: str
    memory_gb: int
    profiles: dict[str, MigFact]
    profile_ids: dict[str, int]
    """nvidia-smi's profile ID of each (what ``nvidia-smi mig -cgi`` takes)."""


def _facts(names: tuple[str, ...]) -> dict[str, MigFact]:
    # Per row of the user guide's tables: memory fraction (slots of 8), SMs (of 7),
    # instances available; the valid starts of nvidia-smi mig -lgipp.
    rows = (
        (1, 1, 7, (0, 1, 2, 3, 4, 5, 6)),
        (2, 1, 4, (0, 2, 4, 6)),
        (2, 2, 3, (0, 2, 4)),
        (4, 3, 2, (0, 4)),
        (4, 4, 1, (0,)),
        (8, 7, 1, (0,)),
    )
    return {
        n: MigFact(n, slots, compute, most, starts, int(n.split(".")[1][:-2]))
        for n, (slots, compute, most, starts) in zip(names, rows, strict=True)
    }


def _model(key: str, label: str, gb: int, names: tuple[str, ...]) -> ModelFact:
    return ModelFact(
        key, label, gb, _facts(names), dict(zip(names, (19, 15, 14, 9, 5, 0), strict=True))
    )


MODEL_TABLES: dict[str, ModelFact] = {
    m.key: m
    for m in (
        _model("h100-80gb", "H100 80GB", 80, tuple(MIG_TABLE)),
        _model(
            "h100-94gb",
            "H100 94GB",
            94,
            ("1g.12gb", "1g.24gb", "2g.24gb", "3g.47gb", "4g.47gb", "7g.94gb"),
        ),
        _model(
            "h200-141gb",
            "H200 141GB",
            141,
            ("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"),
        ),
        _model("a100-80gb", "A100 80GB", 80, tuple(MIG_TABLE)),
        _model(
            "a100-40gb",
            "A100 40GB",
            40,
            ("1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"),
        ),
    )
}

MIG_NAMES_ALL: tuple[str, ...] = tuple(
    dict.fromkeys(n for m in MODEL_TABLES.values() for n in m.profiles)
)
"""Every MIG slice name of the catalogue, each once."""

# This project's names for slices of GPUs that are not in MIG mode (memory in slots).
MPS_TABLE: dict[str, int] = {"mps.10gb": 1, "mps.20gb": 2, "mps.40gb": 4}
WHOLE_GPU = "gpu"
CPU = "cpu"

ALL_SLICE_NAMES: tuple[str, ...] = (CPU, *MIG_NAMES_ALL, *MPS_TABLE, WHOLE_GPU)
H100_SLICE_NAMES: tuple[str, ...] = (CPU, *MIG_TABLE, *MPS_TABLE, WHOLE_GPU)
"""What a site of H100 80GB GPUs (the simulated default) can name."""


def slots_of(name: str, start: int) -> frozenset[int]:
    return frozenset(range(start, start + MIG_TABLE[name].memory_slots))


def oracle_fits(name: str, start: int, taken: set[int] | frozenset[int], compute_used: int) -> bool:
    """Whether one ``name`` instance can be created at ``start`` (independent oracle)."""
    fact = MIG_TABLE[name]
    return (
        start in fact.valid_starts
        and compute_used + fact.compute <= COMPUTE_SLICES
        and not (slots_of(name, start) & set(taken))
    )
