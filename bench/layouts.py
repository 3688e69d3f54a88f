"""Every maximal valid MIG layout of one H100 80GB: the candidates for a static partition.

A layout is a set of (profile, start) instances that `spawners.core.placement.fits`
accepts together and to which no further instance can be added."""

from __future__ import annotations

from collections import Counter
from functools import cache

from spawners.core.placement import fits
from spawners.core.profiles import H100_MIG_PROFILES

Layout = tuple[tuple[str, int], ...]
"""Sorted (profile name, start) pairs."""

_CANDIDATES = tuple((p, s) for p in H100_MIG_PROFILES for s in p.valid_starts)


def _extend(chosen: tuple[int, ...], mask: int, compute: int, out: set[Layout]) -> None:
    addable = [i for i, (p, s) in enumerate(_CANDIDATES) if fits(p, s, mask, compute)]
    if not addable:
        out.add(tuple(sorted((_CANDIDATES[i][0].name, _CANDIDATES[i][1]) for i in chosen)))
        return
    # Only add candidates after the last chosen one, so each set is built once.
    last = chosen[-1] if chosen else -1
    for i in addable:
        if i <= last:
            continue
        p, s = _CANDIDATES[i]
        _extend(chosen + (i,), mask | (((1 << p.memory_slots) - 1) << s), compute + p.compute, out)


@cache
def maximal_layouts() -> tuple[Layout, ...]:
    found: set[Layout] = set()
    _extend((), 0, 0, found)
    # The index-ordered walk can stop at a set that still has room for an earlier
    # candidate; keep only the truly maximal ones.
    return tuple(sorted(layout for layout in found if _is_maximal(layout)))


def _is_maximal(layout: Layout) -> bool:
    from spawners.core.profiles import slice_profile

    mask = compute = 0
    for name, start in layout:
        p = slice_profile(name)
        mask |= ((1 << p.memory_slots) - 1) << start
        compute += p.compute
    return not any(fits(p, s, mask, compute) for p, s in _CANDIDATES)


def layout_counts(layout: Layout) -> Counter[str]:
    """Instances per profile in one layout."""
    return Counter(name for name, _ in layout)


def describe(layout: Layout) -> str:
    counts = layout_counts(layout)
    return " + ".join(f"{n}x{name}" for name, n in sorted(counts.items()))
