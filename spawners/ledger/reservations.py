"""Lab-session reservations in the ledger: the ``sandbox_reservations`` table (made,
listed and cancelled by the courses service) and what a reservation means to a start
(``booking_in``, called by Ledger.reserve and Ledger.start_queued inside their write
transaction, so a kept slice cannot be taken by two starts, nor by an outsider).

The decisions are pure (spawners/core/reservations.py). A reservation is no allocation:
it holds no slot claims and costs no GPU-hours; a member's server that takes one of its
slices is an ordinary allocation (charged to the member's team from when it answers),
linked to the reservation by a row of ``sandbox_reservation_claims``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from spawners.core.allocator import PlacementStrategy, free_counts
from spawners.core.demand import PRIOR_ONLY, RequestMix
from spawners.core.model import Holding, Inventory, Placement, Refusal, RefusalCode
from spawners.core.reservations import (
    Booking,
    Infeasible,
    Reservation,
    booking,
    check_new,
    kept_now,
    respects,
)

from .schema import SERVING, AllocationRow, AuditRow, ReservationClaimRow, ReservationRow

if TYPE_CHECKING:
    from .ledger import Ledger

RESERVATIONS_LOCK = "sandbox reservations"
"""PostgreSQL advisory lock under which a new reservation is checked and inserted."""


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


def _claims_in(s: Session, ids: list[int] | None = None) -> dict[int, int]:
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


def _record(row: ReservationRow, claims: dict[int, int]) -> ReservationRecord:
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


def _live(s: Session, since: float) -> list[ReservationRow]:
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
    keeping = [d for row in rows if (d := _record(row, {}).decision()).keeping(now)]
    if not keeping:
        return Booking()
    claims = _claims_in(s, [r.id for r in keeping])
    kept = kept_now(keeping, claims, inventory, holdings, now, strategy, mix)
    return booking(kept, slice_name, team, claims)


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


class Reservations:
    """The reservations of one ledger (the courses service makes them; the hub's starts
    respect them)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def make(
        self,
        *,
        course: str,
        slice_name: str,
        count: int,
        starts_at: float,
        ends_at: float,
        grace_s: float,
        actor: str,
        inventory: Inventory,
        strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
    ) -> ReservationRecord | Infeasible:
        """Insert a reservation, or say what its window can hold beside the others: the
        check and the insert are one transaction (SQLite serialises writers; PostgreSQL
        takes an advisory lock), so two reservations made at once cannot both slip in."""
        ledger = self.ledger
        with ledger._sessions() as s, s.begin():
            if s.bind.dialect.name == "postgresql":
                s.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                    {"key": RESERVATIONS_LOCK},
                )
            existing = [_record(r, {}).decision() for r in _live(s, starts_at)]
            last = s.scalar(select(func.max(ReservationRow.id))) or 0
            new = Reservation(last + 1, course, slice_name, count, starts_at, ends_at, grace_s)
            refusal = check_new(inventory, existing, new, strategy)
            if refusal is not None:
                return refusal
            now = ledger.clock()
            row = ReservationRow(
                course=course,
                slice_name=slice_name,
                count=count,
                starts_at=starts_at,
                ends_at=ends_at,
                grace_s=grace_s,
                made_by=actor,
                made_at=now,
            )
            s.add(row)
            s.flush()
            s.add(
                AuditRow(
                    at=now,
                    actor=actor,
                    action="reservation-make",
                    subject=f"course {course}",
                    detail=f"reservation {row.id}: {count} x {slice_name} "
                    f"[{starts_at:.0f}, {ends_at:.0f}) grace {grace_s:.0f} s",
                )
            )
            return _record(row, {})

    def cancel(self, reservation_id: int, actor: str) -> bool:
        """Cancel a reservation: its unclaimed slices return at once; members' servers
        keep theirs. False when there was none to cancel."""
        ledger = self.ledger
        with ledger._sessions() as s, s.begin():
            now = ledger.clock()
            done = s.execute(
                update(ReservationRow)
                .where(ReservationRow.id == reservation_id, ReservationRow.cancelled_at.is_(None))
                .values(cancelled_at=now)
            )
            if done.rowcount != 1:
                return False
            row = s.get(ReservationRow, reservation_id)
            s.add(
                AuditRow(
                    at=now,
                    actor=actor,
                    action="reservation-cancel",
                    subject=f"course {row.course}",
                    detail=f"reservation {reservation_id}",
                )
            )
            return True

    def get(self, reservation_id: int) -> ReservationRecord | None:
        with self.ledger._sessions() as s:
            row = s.get(ReservationRow, reservation_id)
            if row is None or row.cancelled_at is not None:
                return None
            return _record(row, _claims_in(s, [row.id]))

    def upcoming(self, since: float, course: str | None = None) -> list[ReservationRecord]:
        """Reservations not cancelled whose window ends after ``since`` (ahead or open),
        in the order they start; one course's, or every course's."""
        with self.ledger._sessions() as s:
            rows = [r for r in _live(s, since) if course is None or r.course == course]
            claims = _claims_in(s, [r.id for r in rows])
            return [_record(r, claims) for r in rows]
