"""The request mix a site sees, and what a MIG placement costs that mix. Pure: no I/O.

Placement is scored in the manner of "Beware of Fragmentation" (Weng et al., USENIX ATC
2023): a GPU's fragmentation is, over the request types weighted by how often each is
asked for, the capacity that type can no longer use; the placement chosen is the one
that adds the least. Here a type is a MIG profile, its capacity is how many more
instances of it fit (on every GPU that has it), and each instance counts its GPU-hour
weight, so what a placement costs is

    sum over profiles m of  p_m * w_m * (h_m(N_m) - h_m(N_m'))

with p_m the profile's share of requests, w_m its weight, N_m and N_m' the fleet's room
for it before and after. One change to the paper's sum: ``h_m(N) = 1 - exp(-N / t_m)``
with ``t_m = SCARCITY * p_m * G_m`` (G_m: GPUs that have m), so losing room for a profile
the fleet has plenty of costs almost nothing, and losing the last room for a scarce one
(a whole empty GPU for a 7g.80gb) costs its full weight. The plain sum protects small
profiles, which fit nearly anywhere, at the expense of large ones (docs/benchmarks.md).

The shares come from what the site asked for recently (the ledger counts them), drawn
towards PRIOR, the mix the benchmark's traces use, as PRIOR_WEIGHT pseudo-requests."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from .gpu_models import (
    FOUR_SLICES,
    ONE_SLICE,
    ONE_SLICE_X2,
    SEVEN_SLICES,
    THREE_SLICES,
    TWO_SLICES,
    ProfileClass,
)
from .profiles import Geometry, MigTable

PRIOR: tuple[tuple[ProfileClass, float], ...] = (
    (ONE_SLICE, 0.40),
    (ONE_SLICE_X2, 0.20),
    (TWO_SLICES, 0.15),
    (THREE_SLICES, 0.12),
    (FOUR_SLICES, 0.08),
    (SEVEN_SLICES, 0.05),
)
"""Share of requests per MIG profile class before the site has a history: small slices
dominate (students and notebooks), whole GPUs are rare (fine-tuning). On an H100 80GB:
1g.10gb, 1g.20gb, 2g.20gb, 3g.40gb, 4g.40gb, 7g.80gb."""

PRIOR_WEIGHT = 100
"""How many observed requests the prior is worth: a site's first few spawns shift the
mix a little, a few hundred decide it."""

HISTORY = 1000
"""How many of the most recent allocations the ledger counts for the mix."""

SCARCITY = 0.5
"""``t_m`` in GPUs per unit of share (see the module text). Chosen on traces of seeds
1000 and up at 1, 2, 4, 8 and 16 GPUs, not on the benchmark's own seeds."""


def _geometry_key(memory_slots: int, compute: int, starts: tuple[int, ...]) -> tuple:
    return (memory_slots, compute, tuple(starts))


_PRIOR_BY_GEOMETRY: dict[tuple, float] = {
    _geometry_key(c.memory_slots, c.compute, c.valid_starts): share for c, share in PRIOR
}


@dataclass(frozen=True)
class RequestMix:
    """Requests observed per slice name (sorted pairs, so it is hashable and cacheable)."""

    counts: tuple[tuple[str, int], ...] = ()

    @classmethod
    def observed(cls, counts: Mapping[str, int]) -> RequestMix:
        """From ``{slice name: requests}``; ValueError for a count that is not a
        non-negative whole number."""
        for name, n in counts.items():
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise ValueError(f"request count for {name!r} must be a whole number >= 0")
        return cls(tuple(sorted((str(k), v) for k, v in counts.items() if v > 0)))

    @property
    def total(self) -> int:
        return sum(n for _, n in self.counts)


PRIOR_ONLY = RequestMix()


def prior_share(geometry: Geometry) -> float:
    """The prior's share for a profile of this geometry (0 for one the prior lacks)."""
    return _PRIOR_BY_GEOMETRY.get(
        _geometry_key(geometry.memory_slots, geometry.compute, geometry.valid_starts), 0.0
    )


@lru_cache(maxsize=256)  # the mix changes with every allocation: keep only recent ones
def shares(tables: tuple[MigTable, ...], mix: RequestMix) -> dict[str, float]:
    """Share of requests per MIG profile name the ``tables`` (a fleet's distinct MIG
    tables) offer: the observed counts of those names, drawn towards the prior. Sums to
    1 over the names (a name two tables share is counted once)."""
    prior: dict[str, float] = {}
    for table in tables:
        for p in table.profiles:
            prior.setdefault(p.name, prior_share(p.geometry))
    scale = sum(prior.values())
    if scale <= 0:  # a table the prior knows nothing of: every profile alike
        prior = dict.fromkeys(prior, 1.0)
        scale = float(len(prior)) or 1.0
    seen = {name: n for name, n in mix.counts if name in prior}
    total = sum(seen.values())
    return {
        name: (PRIOR_WEIGHT * share / scale + seen.get(name, 0)) / (PRIOR_WEIGHT + total)
        for name, share in prior.items()
    }


def room_value(room: float, share: float, gpus: int) -> float:
    """``h_m(N)``: what ``room`` more instances of a profile are worth, out of 1."""
    scale = SCARCITY * share * gpus
    if scale <= 0:
        return 0.0
    return 1.0 - math.exp(-room / scale)


__all__ = [
    "HISTORY",
    "PRIOR",
    "PRIOR_ONLY",
    "PRIOR_WEIGHT",
    "SCARCITY",
    "RequestMix",
    "prior_share",
    "room_value",
    "shares",
]
