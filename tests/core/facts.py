"""The H100 80GB MIG facts, written out independently of ``spawners.core`` (from
DESIGN.md, after NVIDIA's MIG User Guide), so the tests check the code against the
table instead of against itself."""

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

# This project's names for slices of GPUs that are not in MIG mode (memory in slots).
MPS_TABLE: dict[str, int] = {"mps.10gb": 1, "mps.20gb": 2, "mps.40gb": 4}
WHOLE_GPU = "gpu"
CPU = "cpu"

ALL_SLICE_NAMES: tuple[str, ...] = (CPU, *MIG_TABLE, *MPS_TABLE, WHOLE_GPU)


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
