"""The ledger's tables. The constraints are the promise: a memory slot of a GPU is
claimed by at most one live allocation, and a server holds at most one live allocation,
whatever number of processes write at once."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

RESERVED = "reserved"
ACTIVE = "active"
RELEASED = "released"
QUARANTINED = "quarantined"
"""The server is stopped but something it started still runs on its slice: the slots
stay claimed (nobody else gets the device) until that is gone."""
STATES = (RESERVED, ACTIVE, QUARANTINED, RELEASED)
SERVING = (RESERVED, ACTIVE)
"""The states in which an allocation belongs to a server that may run."""


SERVING_INDEX = "uq_sandbox_serving_server"
RETIRED_INDEXES = ("uq_sandbox_live_server",)
"""Indexes of earlier versions that create_schema drops (the live-server index counted
quarantined allocations as the server's)."""


class Base(DeclarativeBase):
    pass


class AllocationRow(Base):
    __tablename__ = "sandbox_allocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user: Mapped[str] = mapped_column(String(255))
    server_name: Mapped[str] = mapped_column(String(255), default="")
    team: Mapped[str | None] = mapped_column(String(255), nullable=True)
    image: Mapped[str] = mapped_column(String(64))
    slice_name: Mapped[str] = mapped_column(String(32))
    weight: Mapped[float] = mapped_column(Float, default=0.0)
    gpu_uuid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    gpu_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    start: Mapped[int | None] = mapped_column(Integer, nullable=True)
    slots: Mapped[str] = mapped_column(String(32), default="")
    device_uuid: Mapped[str | None] = mapped_column(String(128), nullable=True)
    simulated: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default=RESERVED)
    epoch: Mapped[str] = mapped_column(String(64))
    engine: Mapped[str] = mapped_column(String(32), default="local")
    engine_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    activated_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    released_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    release_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)

    __table_args__ = (
        # One serving allocation per server, enforced by the database itself (a
        # quarantined one no longer belongs to a server: its user may start again).
        Index(
            SERVING_INDEX,
            "user",
            "server_name",
            unique=True,
            sqlite_where=text("state IN ('reserved', 'active')"),
            postgresql_where=text("state IN ('reserved', 'active')"),
        ),
        Index("ix_sandbox_alloc_state", "state"),
        Index("ix_sandbox_alloc_times", "created_at", "released_at"),
    )


class SlotClaimRow(Base):
    """One row per memory slot held: the primary key makes a double-booking impossible."""

    __tablename__ = "sandbox_slot_claims"

    gpu_uuid: Mapped[str] = mapped_column(String(128), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True)
    allocation_id: Mapped[int] = mapped_column(
        ForeignKey("sandbox_allocations.id", ondelete="CASCADE"), index=True
    )


class AuditRow(Base):
    """Who got or gave back which slice, and who changed what."""

    __tablename__ = "sandbox_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text, default="")


WAITING = "waiting"
STARTED = "started"
LEFT = "left"
EXPIRED = "expired"
REFUSED = "refused"
QUEUE_STATES = (WAITING, STARTED, LEFT, EXPIRED, REFUSED)
"""A queued start waits, then it starts (its allocation is reserved in the same
transaction that ends its wait), its user leaves the queue, it expires, or the limits
checked again at its start refuse it."""
WAITING_INDEX = "uq_sandbox_waiting_server"


class QueueRow(Base):
    """The waitlist: starts that found no free slice, in arrival order (the id)."""

    __tablename__ = "sandbox_queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user: Mapped[str] = mapped_column(String(255))
    server_name: Mapped[str] = mapped_column(String(255), default="")
    team: Mapped[str | None] = mapped_column(String(255), nullable=True)
    image: Mapped[str] = mapped_column(String(64))
    slice_name: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default=WAITING)
    epoch: Mapped[str] = mapped_column(String(64))
    """The hub process whose start waits on this entry (a restarted hub resumes the
    entries of earlier ones)."""
    enqueued_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    ended_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    allocation_id: Mapped[int | None] = mapped_column(
        ForeignKey("sandbox_allocations.id", ondelete="SET NULL"), nullable=True
    )

    __table_args__ = (
        # A server waits in the queue at most once, whatever number of hubs write.
        Index(
            WAITING_INDEX,
            "user",
            "server_name",
            unique=True,
            sqlite_where=text("state = 'waiting'"),
            postgresql_where=text("state = 'waiting'"),
        ),
        Index("ix_sandbox_queue_state", "state"),
    )


class ReservationRow(Base):
    """A course's lab-session reservation: ``count`` slices of one profile kept for its
    members over [starts_at, ends_at) (spawners/core/reservations.py says how)."""

    __tablename__ = "sandbox_reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    course: Mapped[str] = mapped_column(String(255))
    slice_name: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[float] = mapped_column(Float)
    ends_at: Mapped[float] = mapped_column(Float)
    grace_s: Mapped[float] = mapped_column(Float)
    """Seconds after the start that unclaimed slices stay kept (the site's setting when
    it was made)."""
    made_by: Mapped[str] = mapped_column(String(255))
    made_at: Mapped[float] = mapped_column(Float)
    cancelled_at: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index("ix_sandbox_reservation_window", "starts_at", "ends_at"),)


class ReservationClaimRow(Base):
    """An allocation that took one of a reservation's slices (a member's server)."""

    __tablename__ = "sandbox_reservation_claims"

    allocation_id: Mapped[int] = mapped_column(
        ForeignKey("sandbox_allocations.id", ondelete="CASCADE"), primary_key=True
    )
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("sandbox_reservations.id", ondelete="CASCADE"), index=True
    )
