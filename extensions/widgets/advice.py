"""Right-sizing advice: which slice to ask for next time. Pure.

- After a CUDA out-of-memory error: the next slice up, i.e. the cheapest slice of the
  same family (MIG, or MPS/whole GPU) with more memory.
- After a session that used a small part of its slice: the cheapest slice of the same
  family whose memory still holds the session's peak with headroom; when the GPU was
  busy, only slices with as much compute, so the work does not slow down."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from spawners.core.profiles import SLICES_BY_NAME, SliceKind, SliceProfile, sibling_slices

HEADROOM = 0.8
"""A smaller slice must hold the peak in this fraction of its memory."""
MIN_SESSION_S = 10 * 60
"""Shorter sessions say too little about what the work needs."""
BUSY_PERCENT = 50.0
GB = 10**9


@dataclass(frozen=True)
class Advice:
    slice: str
    direction: str
    """"up" or "down"."""
    reason: str


def _family(profile: SliceProfile) -> frozenset[SliceKind]:
    if profile.kind is SliceKind.MIG:
        return frozenset({SliceKind.MIG})
    if profile.kind in (SliceKind.MPS, SliceKind.GPU):
        return frozenset({SliceKind.MPS, SliceKind.GPU})
    return frozenset()


def _candidates(profile: SliceProfile, allowed: Iterable[str] | None) -> list[SliceProfile]:
    # Without the site's list, only the slices of the GPU models that have this one.
    names = set(allowed) if allowed is not None else set(sibling_slices(profile.name))
    family = _family(profile)
    return [p for n, p in SLICES_BY_NAME.items() if n in names and p.kind in family]


def after_oom(current: str, allowed: Iterable[str] | None = None) -> Advice | None:
    """The next slice up after a CUDA out-of-memory error on ``current``, or None."""
    profile = SLICES_BY_NAME.get(current)
    if profile is None or not profile.needs_gpu:
        return None
    bigger = [p for p in _candidates(profile, allowed) if p.memory_gb > profile.memory_gb]
    if not bigger:
        return None
    best = min(bigger, key=lambda p: (p.memory_gb, p.gpu_hour_weight, p.compute))
    return Advice(
        best.name,
        "up",
        f"{current} ran out of GPU memory ({profile.memory_gb} GB); "
        f"{best.name} has {best.memory_gb} GB.",
    )


def after_session(
    current: str,
    peak_memory_bytes: int,
    session_seconds: float,
    mean_utilisation_percent: float | None = None,
    allowed: Iterable[str] | None = None,
) -> Advice | None:
    """A smaller slice when the session used little of ``current``, or None."""
    profile = SLICES_BY_NAME.get(current)
    if profile is None or not profile.needs_gpu or session_seconds < MIN_SESSION_S:
        return None
    busy = mean_utilisation_percent is not None and mean_utilisation_percent >= BUSY_PERCENT
    fitting = [
        p
        for p in _candidates(profile, allowed)
        if p.gpu_hour_weight < profile.gpu_hour_weight
        and p.memory_gb * GB * HEADROOM >= peak_memory_bytes
        and (not busy or p.compute >= profile.compute)
    ]
    if not fitting:
        return None
    best = min(fitting, key=lambda p: (p.gpu_hour_weight, p.memory_gb))
    return Advice(
        best.name,
        "down",
        f"This session peaked at {peak_memory_bytes / GB:.1f} GB of {profile.memory_gb} GB; "
        f"{best.name} ({best.memory_gb} GB) would do and costs less.",
    )
