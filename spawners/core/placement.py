"""MIG placement arithmetic on one GPU: what still fits, given the occupied memory
slots and the compute already used. Pure and memoised (256 masks x 8 compute levels)."""

from __future__ import annotations

from functools import cache

from .profiles import COMPUTE_SLICES, H100_MIG_PROFILES, MIG_LARGEST_FIRST, SliceProfile


def fits(profile: SliceProfile, start: int, occupied_mask: int, compute_used: int) -> bool:
    """Whether one ``profile`` instance can be created at ``start``."""
    if start not in profile.valid_starts:
        return False
    if compute_used + profile.compute > COMPUTE_SLICES:
        return False
    want = ((1 << profile.memory_slots) - 1) << start
    return want & occupied_mask == 0


@cache
def _free_count(name: str, occupied_mask: int, compute_used: int) -> int:
    profile = next(p for p in H100_MIG_PROFILES if p.name == name)
    # Instances of one profile have one size and aligned starts, so taking the first
    # start that fits, left to right, places the most of them (interval scheduling).
    count = 0
    mask = occupied_mask
    compute = compute_used
    for start in profile.valid_starts:
        if fits(profile, start, mask, compute):
            mask |= ((1 << profile.memory_slots) - 1) << start
            compute += profile.compute
            count += 1
    return count


def free_count(profile: SliceProfile, occupied_mask: int, compute_used: int) -> int:
    """How many more ``profile`` instances fit on a GPU in this state."""
    return _free_count(profile.name, occupied_mask, compute_used)


def capacity_vector(occupied_mask: int, compute_used: int) -> tuple[int, ...]:
    """Free counts of every MIG profile, largest profile first: comparing two of these
    lexicographically says which GPU state keeps more room for large slices."""
    return tuple(free_count(p, occupied_mask, compute_used) for p in MIG_LARGEST_FIRST)


@cache
def placement_loss(
    profile: SliceProfile, start: int, occupied_mask: int, compute_used: int
) -> tuple[int, ...]:
    """Capacity lost per profile (largest first) by placing ``profile`` at ``start``."""
    before = capacity_vector(occupied_mask, compute_used)
    after_mask = occupied_mask | (((1 << profile.memory_slots) - 1) << start)
    after = capacity_vector(after_mask, compute_used + profile.compute)
    return tuple(b - a for b, a in zip(before, after, strict=True))
