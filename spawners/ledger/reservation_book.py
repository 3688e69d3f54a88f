"""The reservations of one ledger, as the courses service makes, lists and cancels them
and the capacity page lists them (``sandbox_reservations``; what they mean to a start is
reservations.py's)."""

from __future__ import annotations

from sqlalchemy import func, select, text, update

from spawners.core.allocator import PlacementStrategy
from spawners.core.model import Inventory
from spawners.core.reservations import Infeasible, Reservation, check_new

from .ledger import Ledger
from .reservations import ReservationRecord, claims_in, live_rows, record_of
from .schema import AuditRow, ReservationRow

RESERVATIONS_LOCK = "sandbox reservations"
"""PostgreSQL advisory lock under which a new reservation is checked and inserted."""


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
            existing = [record_of(r, {}).decision() for r in live_rows(s, starts_at)]
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
            return record_of(row, {})

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
            return record_of(row, claims_in(s, [row.id]))

    def upcoming(self, since: float, course: str | None = None) -> list[ReservationRecord]:
        """Reservations not cancelled whose window ends after ``since`` (ahead or open),
        in the order they start; one course's, or every course's."""
        with self.ledger._sessions() as s:
            rows = [r for r in live_rows(s, since) if course is None or r.course == course]
            claims = claims_in(s, [r.id for r in rows])
            return [record_of(r, claims) for r in rows]
