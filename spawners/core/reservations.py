"""Lab-session reservations, pure: what a course's reservations keep from everyone else
at a moment, which reserved instance a member's start takes, and whether a new
reservation can be honoured beside the others. No I/O, no clock (``now`` is an input).

A reservation keeps ``count`` slices of one profile for a course (a team of kind
``course``) over a window [starts_at, ends_at). From the window's start until the grace
period ends, its unclaimed instances are *kept*: placed by the allocator itself, the
largest reservations first, on what is held now, so that they fit together; everyone
else places around them (as if they were held), and a member of the course asking for
that profile takes one of them. After the grace period the unclaimed ones return to
everyone; what members claimed is held by their servers like any slice.

Servers already running when a window starts are not evicted: the instances that do not
fit beside them are kept as soon as room frees, before anyone else can take it (each
decision places the kept instances first)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from .allocator import PlacementStrategy, allocate
from .demand import PRIOR_ONLY, RequestMix
from .model import Holding, Inventory, Placement
from .profiles import SLICES_BY_NAME


@dataclass(frozen=True)
class Reservation:
    id: int
    course: str
    """The team (kind ``course``) whose members may claim it."""
    slice_name: str
    count: int
    starts_at: float
    ends_at: float
    grace_s: float
    """How long after the start unclaimed instances stay kept."""

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def keeping(self, now: float) -> bool:
        """Whether its unclaimed instances are still kept from everyone else."""
        return self.active(now) and now < self.starts_at + self.grace_s

    def overlaps(self, starts_at: float, ends_at: float) -> bool:
        return self.starts_at < ends_at and starts_at < self.ends_at


@dataclass(frozen=True)
class Kept:
    """One reservation's unclaimed instances at a moment."""

    reservation: Reservation
    placements: tuple[Placement, ...]
    """Where the kept instances are (placed on what is held now)."""
    unplaced: int
    """Unclaimed instances with no room now (servers that ran before the window)."""


@dataclass(frozen=True)
class Booking:
    """What one start must respect: the kept instances it places around, or the
    reserved instance it takes (a member of the course asking for that profile)."""

    around: tuple[Holding, ...] = ()
    take: Placement | None = None
    reservation_id: int | None = None
    """The reservation whose instance ``take`` is (the claim to record)."""
    keeping: tuple[Reservation, ...] = ()
    """The reservations in their grace period (what ``respects`` places again)."""
    claims: tuple[tuple[int, int], ...] = ()
    placed: int = 0
    """How many kept instances have room now."""


def _size(slice_name: str) -> tuple[int, int]:
    profile = SLICES_BY_NAME[slice_name]
    return (profile.memory_slots, profile.compute)


def placing_order(reservations: Iterable[Reservation]) -> list[Reservation]:
    """The order reservations are placed in: the largest profile first (small instances
    fill around large ones, not the other way), then the earliest made."""
    return sorted(reservations, key=lambda r: (tuple(-x for x in _size(r.slice_name)), r.id))


def _place(
    inventory: Inventory,
    held: list[Holding],
    slice_name: str,
    count: int,
    strategy: PlacementStrategy,
    mix: RequestMix,
) -> list[Placement]:
    """Up to ``count`` instances placed one after the other on ``held`` (which grows)."""
    out: list[Placement] = []
    for _ in range(count):
        decision = allocate(inventory, held, slice_name, strategy, mix)
        if not isinstance(decision, Placement) or decision.gpu_uuid is None:
            break
        out.append(decision)
        held.append(decision.as_holding())
    return out


def kept_now(
    reservations: Iterable[Reservation],
    claims: Mapping[int, int],
    inventory: Inventory,
    holdings: Iterable[Holding],
    now: float,
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
    mix: RequestMix = PRIOR_ONLY,
) -> list[Kept]:
    """The instances the reservations keep at ``now``. ``claims``: per reservation id,
    how many of its instances members' servers hold now."""
    held = list(holdings)
    out: list[Kept] = []
    for r in placing_order(r for r in reservations if r.keeping(now)):
        want = max(0, r.count - claims.get(r.id, 0))
        placed = _place(inventory, held, r.slice_name, want, strategy, mix)
        out.append(Kept(r, tuple(placed), want - len(placed)))
    return out


def booking(
    kept: Sequence[Kept],
    slice_name: str,
    team: str | None,
    claims: Mapping[int, int] | None = None,
) -> Booking:
    """What a start of ``slice_name`` by a member of ``team`` (None: in no team) must
    respect: a member of a course with a kept instance of that profile takes the first
    one; everyone else places around every kept instance. ``claims``: as kept_now had
    them."""
    take: Placement | None = None
    taken_from: int | None = None
    around: list[Holding] = []
    for k in kept:
        for p in k.placements:
            mine = team is not None and k.reservation.course == team
            if take is None and mine and p.slice_name == slice_name:
                take, taken_from = p, k.reservation.id
                continue
            around.append(p.as_holding())
    return Booking(
        tuple(around),
        take,
        taken_from,
        tuple(k.reservation for k in kept),
        tuple(sorted((claims or {}).items())),
        sum(len(k.placements) for k in kept),
    )


def settled(
    booked: Booking,
    kept: Sequence[Kept],
    inventory: Inventory,
    holdings: Iterable[Holding],
    now: float,
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
    mix: RequestMix = PRIOR_ONLY,
) -> Booking:
    """A member's take that leaves the other kept instances their room. They are placed
    again at every decision, greedily, and taking the one where another must then go can
    leave the rest one short (found by a property test): the first of the course's kept
    instances of that profile after which all the others still have room is taken; when
    none is, the first (the greedy order's)."""
    if booked.take is None or booked.reservation_id is None:
        return booked
    held = list(holdings)
    course = next(k.reservation.course for k in kept if k.reservation.id == booked.reservation_id)
    candidates = [
        (p, k.reservation.id)
        for k in kept
        if k.reservation.course == course
        for p in k.placements
        if p.slice_name == booked.take.slice_name
    ]
    for take, reservation_id in candidates:
        claims = dict(booked.claims)
        claims[reservation_id] = claims.get(reservation_id, 0) + 1
        after = kept_now(
            booked.keeping, claims, inventory, [*held, take.as_holding()], now, strategy, mix
        )
        if sum(len(k.placements) for k in after) >= booked.placed - 1:
            around = tuple(p.as_holding() for k in kept for p in k.placements if p is not take)
            return replace(booked, around=around, take=take, reservation_id=reservation_id)
    return booked


def respects(
    booked: Booking,
    inventory: Inventory,
    holdings: Iterable[Holding],
    placement: Placement,
    now: float,
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
    mix: RequestMix = PRIOR_ONLY,
) -> bool:
    """Whether an outsider's ``placement`` (made around the kept instances) leaves the
    reservations as much room as they keep now. The kept instances are placed again at
    every decision, greedily, and a placement that fits around one arrangement can leave
    the next one short (a 1g.20gb where the re-placed 1g.20gb would go, leaving 1g.10gb
    only slot 7, where none may start): such a start is refused, as if the GPUs were full."""
    if booked.take is not None or placement.gpu_uuid is None or not booked.keeping:
        return True
    after = kept_now(
        booked.keeping,
        dict(booked.claims),
        inventory,
        [*holdings, placement.as_holding()],
        now,
        strategy,
        mix,
    )
    return sum(len(k.placements) for k in after) >= booked.placed


@dataclass(frozen=True)
class Infeasible:
    """A new reservation the window cannot honour, with what it can hold."""

    slice_name: str
    asked: int
    most: int
    """How many of ``slice_name`` the window holds beside the other reservations."""
    at: float
    """The moment in the window where it holds the fewest."""

    @property
    def message(self) -> str:
        if self.most == 0:
            return f"This window can hold no {self.slice_name} beside the other reservations."
        return (
            f"This window can hold at most {self.most} x {self.slice_name} beside the "
            "other reservations."
        )


def check_new(
    inventory: Inventory,
    existing: Iterable[Reservation],
    new: Reservation,
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
    mix: RequestMix = PRIOR_ONLY,
) -> Infeasible | None:
    """None when ``new`` fits with every reservation overlapping its window, placed
    together on the inventory's GPUs (nothing else held: a window is booked ahead).
    The set of reservations active at once only grows at a start, so it is checked at
    the new window's start and at every other start inside it. ``new.id``: larger than
    every existing one's (it is placed after them among instances of its size)."""
    overlapping = [r for r in existing if r.id != new.id and r.overlaps(new.starts_at, new.ends_at)]
    moments = sorted(
        {new.starts_at} | {r.starts_at for r in overlapping if r.starts_at > new.starts_at}
    )
    worst: Infeasible | None = None
    for at in moments:
        together = [r for r in overlapping if r.active(at)] + [new]
        most = _most_beside(inventory, together, new, strategy, mix)
        if most < new.count and (worst is None or most < worst.most):
            worst = Infeasible(new.slice_name, new.count, most, at)
    return worst


def _fits_together(
    inventory: Inventory,
    together: Iterable[Reservation],
    strategy: PlacementStrategy,
    mix: RequestMix,
) -> bool:
    """Whether every instance of ``together`` is placed, in the placing order (the order
    the hub keeps them in), on GPUs holding nothing else."""
    held: list[Holding] = []
    for r in placing_order(together):
        if len(_place(inventory, held, r.slice_name, r.count, strategy, mix)) < r.count:
            return False
    return True


def _most_beside(
    inventory: Inventory,
    together: list[Reservation],
    new: Reservation,
    strategy: PlacementStrategy,
    mix: RequestMix,
) -> int:
    """The most instances the new reservation could have with the others in full (a
    bisection: fewer instances of one profile never fit worse)."""
    others = [r for r in together if r.id != new.id]
    lo, hi = 0, new.count
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fits_together(inventory, [*others, replace(new, count=mid)], strategy, mix):
            lo = mid
        else:
            hi = mid - 1
    return lo


__all__ = [
    "Booking",
    "Infeasible",
    "Kept",
    "Reservation",
    "booking",
    "check_new",
    "kept_now",
    "placing_order",
    "respects",
]
