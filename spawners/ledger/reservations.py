"""Lab-session reservations in the ledger: their records (``sandbox_reservations``) and
what a reservation means to a start (``booking_in`` and ``guarded``, called by
Ledger.reserve and Ledger.start_queued inside their write transaction, so a kept slice
cannot be taken by two starts, nor by an outsider). Making, listing and cancelling them
(the courses service): reservation_book.py.

The decisions are pure (spawners/core/reservations.py). A reservation is no allocation:
it holds no slot claims and costs no GPU-hours; a member's server that takes one of its
slices is an ordinary allocation (charged to the member's team from when it answers),
linked to the reservation by a row of ``sandbox_reservation_claims``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from spawners.core.allocator import PlacementStrategy, free_counts
from spawners.core.demand import PRIOR_ONLY, RequestMix
from spawners.core.model import Holding, Inventory, Placement, Refusal, RefusalCode
from spawners.core.reservations import (
    Booking,
    Reservation,
    booking,
    kept_now,
    respects,
    settled,
)

from .schema import SERVING, AllocationRow, AuditRow, ReservationClaimRow, ReservationRow


@dataclass(frozen=True)
class ReservationRecord:
    """One reservation, read out of the ledger, with how many of its slices members'
    servers hold now."""

    id: int
    course: str
    slice_name: str
    count: int
    starts_at: float
    ends_at: float
    grace_s: float
    made_by: str
    made_at: float
    claimed: int

    def decision(self) -> Reservation:
        return Reservation(
            self.id,
            self.course,
            self.slice_name,
            self.count,
            self.starts_at,
            self.ends_at,
            self.grace_s,
        )

    def as_dict(self, now: float) -> dict[str, Any]:
        r = self.decision()
        if r.keeping(now):
            state = "keeping"  # unclaimed slices are kept for the course
        elif r.active(now):
            state = "open"  # the grace is over: unclaimed slices are everyone's
        else:
            state = "ended" if now >= self.ends_at else "ahead"
        return {
            "id": self.id,
            "course": self.course,
            "slice": self.slice_name,
            "count": self.count,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "grace_s": self.grace_s,
            "made_by": self.made_by,
            "claimed": self.claimed,
            "state": state,
        }


def claims_in(s: Session, ids: list[int] | None = None) -> dict[int, int]:
    """Per reservation: its slices held by servers now."""
    q = (
        select(ReservationClaimRow.reservation_id, func.count())
        .join(AllocationRow, AllocationRow.id == ReservationClaimRow.allocation_id)
        .where(AllocationRow.state.in_(SERVING))
        .group_by(ReservationClaimRow.reservation_id)
    )
    if ids is not None:
        q = q.where(ReservationClaimRow.reservation_id.in_(ids))
    return {rid: int(n) for rid, n in s.execute(q)}


def record_of(row: ReservationRow, claims: dict[int, int]) -> ReservationRecord:
    return ReservationRecord(
        row.id,
        row.course,
        row.slice_name,
        row.count,
        row.starts_at,
        row.ends_at,
        row.grace_s,
        row.made_by,
        row.made_at,
        claims.get(row.id, 0),
    )


def live_rows(s: Session, since: float) -> list[ReservationRow]:
    """Reservations not cancelled whose window ends after ``since``."""
    return list(
        s.scalars(
            select(ReservationRow)
            .where(ReservationRow.cancelled_at.is_(None), ReservationRow.ends_at > since)
            .order_by(ReservationRow.starts_at, ReservationRow.id)
        )
    )


def booking_in(
    s: Session,
    inventory: Inventory,
    holdings: list[Holding],
    slice_name: str,
    team: str | None,
    now: float,
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
    mix: RequestMix = PRIOR_ONLY,
) -> Booking:
    """What the reservations in their grace period at ``now`` mean to a start of
    ``slice_name`` by a member of ``team``: the slices it places around, or the one it
    takes. Inside the caller's write transaction."""
    rows = s.scalars(
        select(ReservationRow).where(
            ReservationRow.cancelled_at.is_(None),
            ReservationRow.starts_at <= now,
            ReservationRow.ends_at > now,
        )
    )
    keeping = [d for row in rows if (d := record_of(row, {}).decision()).keeping(now)]
    if not keeping:
        return Booking()
    claims = claims_in(s, [r.id for r in keeping])
    kept = kept_now(keeping, claims, inventory, holdings, now, strategy, mix)
    booked = booking(kept, slice_name, team, claims)
    return settled(booked, kept, inventory, holdings, now, strategy, mix)


def guarded(
    booked: Booking,
    decision: Placement | Refusal | None,
    inventory: Inventory,
    holdings: list[Holding],
    now: float,
    strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
    mix: RequestMix = PRIOR_ONLY,
) -> Placement | Refusal | None:
    """``decision`` unless it is an outsider's placement that would leave the reservations
    less room than they keep (spawners.core.reservations.respects): then a refusal for
    lack of capacity (a refusal or None passes as it is)."""
    if not isinstance(decision, Placement):
        return decision
    if respects(booked, inventory, holdings, decision, now, strategy, mix):
        return decision
    free = free_counts(inventory, [*holdings, *booked.around])
    return Refusal(RefusalCode.NO_CAPACITY, decision.slice_name, free)


def record_claim(s: Session, booked: Booking, allocation_id: int, at: float, user: str) -> None:
    """The allocation took one of a reservation's slices (a no-op when it did not)."""
    if booked.reservation_id is None:
        return
    s.add(ReservationClaimRow(allocation_id=allocation_id, reservation_id=booked.reservation_id))
    s.add(
        AuditRow(
            at=at,
            actor=user,
            action="reservation-claim",
            subject=f"reservation {booked.reservation_id}",
            detail=f"allocation {allocation_id}",
        )
    )
