"""MIG placement arithmetic on one GPU: what still fits, given the occupied memory
slots and the compute already used. Pure and memoised.

It works on geometry only (memory slots, compute slices, valid starts), which is the
same on every GPU model of the catalogue; a GPU's own table says which geometries it
offers (its MigTable), so capacity is measured in that GPU's profiles."""

from __future__ import annotations

from functools import cache

from .profiles import COMPUTE_SLICES, DEFAULT_TABLE, Geometry, SliceProfile

DEFAULT_GEOMETRIES: tuple[Geometry, ...] = DEFAULT_TABLE.geometries
"""The H100 80GB profiles' geometries, largest first."""


def _geometry(profile: SliceProfile | Geometry) -> Geometry:
    return profile if isinstance(profile, Geometry) else profile.geometry


def fits(
    profile: SliceProfile | Geometry, start: int, occupied_mask: int, compute_used: int
) -> bool:
    """Whether one ``profile`` instance can be created at ``start``."""
    g = _geometry(profile)
    if start not in g.valid_starts:
        return False
    if compute_used + g.compute > COMPUTE_SLICES:
        return False
    want = ((1 << g.memory_slots) - 1) << start
    return want & occupied_mask == 0


@cache
def _free_count(g: Geometry, occupied_mask: int, compute_used: int) -> int:
    # Instances of one profile have one size and aligned starts, so taking the first
    # start that fits, left to right, places the most of them (interval scheduling).
    count = 0
    mask = occupied_mask
    compute = compute_used
    for start in g.valid_starts:
        if fits(g, start, mask, compute):
            mask |= ((1 << g.memory_slots) - 1) << start
            compute += g.compute
            count += 1
    return count


def free_count(profile: SliceProfile | Geometry, occupied_mask: int, compute_used: int) -> int:
    """How many more ``profile`` instances fit on a GPU in this state."""
    return _free_count(_geometry(profile), occupied_mask, compute_used)


def capacity_vector(
    occupied_mask: int,
    compute_used: int,
    geometries: tuple[Geometry, ...] = DEFAULT_GEOMETRIES,
) -> tuple[int, ...]:
    """Free counts of every profile of a GPU (``geometries``, largest first): comparing
    two of these lexicographically says which GPU state keeps more room for large
    slices."""
    return tuple(_free_count(g, occupied_mask, compute_used) for g in geometries)


@cache
def _placement_loss(
    g: Geometry, start: int, occupied_mask: int, compute_used: int, geometries: tuple
) -> tuple[int, ...]:
    before = capacity_vector(occupied_mask, compute_used, geometries)
    after_mask = occupied_mask | (((1 << g.memory_slots) - 1) << start)
    after = capacity_vector(after_mask, compute_used + g.compute, geometries)
    return tuple(b - a for b, a in zip(before, after, strict=True))


def placement_loss(
    profile: SliceProfile | Geometry,
    start: int,
    occupied_mask: int,
    compute_used: int,
    geometries: tuple[Geometry, ...] = DEFAULT_GEOMETRIES,
) -> tuple[int, ...]:
    """Capacity lost per profile (largest first) by placing ``profile`` at ``start``."""
    return _placement_loss(_geometry(profile), start, occupied_mask, compute_used, geometries)
