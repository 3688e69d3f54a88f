"""The ledger: the one writer of allocations (reserve -> active -> released).

Every reservation runs the pure allocator inside a write transaction and inserts one
claim row per memory slot. The claim table's primary key is what makes a double-booking
impossible: if two processes pick the same slot, the second insert fails and that
reservation is retried against the fresh holdings."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import create_engine, delete, event, func, inspect, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from spawners.core.allocator import PlacementStrategy, allocate
from spawners.core.demand import HISTORY, RequestMix
from spawners.core.model import Holding, Inventory, Placement, Refusal
from spawners.core.policy import Admission, LimitRefusal
from spawners.core.profiles import slice_profile
from spawners.core.waitlist import Waiting, fair_order, party, starts_now

from .records import AllocationRecord, QueueEntry, encode_slots
from .reservations import booking_in, guarded, record_claim
from .schema import (
    ACTIVE,
    QUARANTINED,
    REFUSED,
    RELEASED,
    RESERVED,
    RETIRED_INDEXES,
    SERVING,
    STARTED,
    WAITING,
    AllocationRow,
    AuditRow,
    Base,
    QueueRow,
    SlotClaimRow,
)

Clock = Callable[[], float]
MAX_ATTEMPTS = 25


class LedgerError(RuntimeError):
    """The ledger could not record a change (a conflict that retries did not resolve)."""


class ServerAlreadyHolds(LedgerError):
    """This server already holds a live allocation."""

    def __init__(self, record: AllocationRecord) -> None:
        super().__init__(f"{record.user}/{record.server_name} already holds allocation {record.id}")
        self.record = record


@dataclass(frozen=True)
class QueueStatus:
    """A queued start that may not start yet: its place in the fair order."""

    entry: QueueEntry | None
    """None: the entry no longer waits (it left, expired, or another hub started it)."""
    order: tuple[Waiting, ...]
    position: int

    @property
    def total(self) -> int:
        return len(self.order)


SESSION_HISTORY = 200
"""Ended sessions whose lengths the waitlist's estimates learn from."""
QUEUE_LOCK = "sandbox waitlist"
"""PostgreSQL advisory lock that makes queued starts of every hub decide one at a time."""


@dataclass
class ReconcileReport:
    kept: list[int] = field(default_factory=list)
    released: list[tuple[int, str]] = field(default_factory=list)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            # Let SQLAlchemy issue BEGIN so that we can make it BEGIN IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # noqa: ANN001
            # Writers serialise at BEGIN instead of failing at COMMIT.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


class Ledger:
    def __init__(self, url: str, clock: Clock = time.time) -> None:
        self.url = url
        self.clock = clock
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        with self.engine.begin() as conn:
            for name in RETIRED_INDEXES:
                conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        Base.metadata.create_all(self.engine)

    def schema_differences(self) -> list[str]:
        """What create_schema would still change here (a missing table or index, a retired
        index still present); empty when the ledger is at this version's schema. Reads
        only: for readers that must not migrate (the hub's start-up hook does)."""
        found = inspect(self.engine)
        tables = set(found.get_table_names())
        out: list[str] = []
        present: set[str] = set()
        for table in Base.metadata.sorted_tables:
            if table.name not in tables:
                out.append(f"table {table.name} is missing")
                continue
            names = {i["name"] for i in found.get_indexes(table.name)}
            present |= names
            out += [f"index {i.name} is missing" for i in table.indexes if i.name not in names]
        out += [f"retired index {n} is still there" for n in RETIRED_INDEXES if n in present]
        return out

    def dispose(self) -> None:
        self.engine.dispose()

    # --- reads -----------------------------------------------------------------

    def live(self) -> list[AllocationRecord]:
        with self._sessions() as s:
            rows = s.scalars(
                select(AllocationRow)
                .where(AllocationRow.state != RELEASED)
                .order_by(AllocationRow.id)
            )
            return [AllocationRecord.from_row(r) for r in rows]

    def holdings(self) -> list[Holding]:
        return [h for r in self.live() if (h := r.holding()) is not None]

    def get(self, allocation_id: int) -> AllocationRecord | None:
        with self._sessions() as s:
            row = s.get(AllocationRow, allocation_id)
            return AllocationRecord.from_row(row) if row else None

    def live_for(self, user: str, server_name: str) -> AllocationRecord | None:
        with self._sessions() as s:
            row = s.scalar(
                select(AllocationRow).where(
                    AllocationRow.user == user,
                    AllocationRow.server_name == server_name,
                    AllocationRow.state.in_(SERVING),
                )
            )
            return AllocationRecord.from_row(row) if row else None

    def last_for(self, user: str, server_name: str) -> AllocationRecord | None:
        """The most recent allocation of this server, live or released."""
        with self._sessions() as s:
            row = s.scalar(
                select(AllocationRow)
                .where(AllocationRow.user == user, AllocationRow.server_name == server_name)
                .order_by(AllocationRow.id.desc())
                .limit(1)
            )
            return AllocationRecord.from_row(row) if row else None

    def overlapping(self, since: float, until: float) -> list[AllocationRecord]:
        """Allocations that held a slice at some time in [since, until)."""
        with self._sessions() as s:
            rows = s.scalars(
                select(AllocationRow)
                .where(AllocationRow.created_at < until)
                .where((AllocationRow.released_at.is_(None)) | (AllocationRow.released_at > since))
                .order_by(AllocationRow.id)
            )
            return [AllocationRecord.from_row(r) for r in rows]

    def claimed_slots(self) -> list[tuple[str, int, int]]:
        with self._sessions() as s:
            return [(c.gpu_uuid, c.slot, c.allocation_id) for c in s.scalars(select(SlotClaimRow))]

    # --- writes ----------------------------------------------------------------

    def reserve(
        self,
        *,
        user: str,
        server_name: str,
        image: str,
        slice_name: str,
        inventory: Inventory,
        epoch: str,
        engine: str = "local",
        team: str | None = None,
        strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
        limits: Admission | None = None,
    ) -> AllocationRecord | Refusal | LimitRefusal:
        """Reserve a slice for a server, or return the allocator's refusal (or the
        limits', when ``limits`` is given: the team's policy or the hub's cap per user,
        checked in the same transaction)."""
        for _attempt in range(MAX_ATTEMPTS):
            try:
                with self._sessions() as s, s.begin():
                    self._refuse_a_second(s, user, server_name)
                    if limits is not None:
                        refusal = self._admit(s, limits)
                        if refusal is not None:
                            return refusal
                    holdings, mix, now = self._holdings_in(s), self._mix_in(s), self.clock()
                    # A course's lab-session reservations: kept slices are placed around,
                    # or taken by a member of the course (spawners/ledger/reservations.py).
                    booked = booking_in(
                        s, inventory, holdings, slice_name, team, now, strategy, mix
                    )
                    placed = booked.take or allocate(
                        inventory, [*holdings, *booked.around], slice_name, strategy, mix
                    )
                    decision = guarded(booked, placed, inventory, holdings, now, strategy, mix)
                    if isinstance(decision, Refusal):
                        return decision
                    row = self._insert(
                        s, decision, user, server_name, image, team, epoch, engine, inventory
                    )
                    record_claim(s, booked, row.id, now, user)
                    s.flush()
                    self._audit(s, user, "reserve", f"{user}/{server_name}", _describe(decision))
                    record = AllocationRecord.from_row(row)
                return record
            except IntegrityError:
                # Another writer claimed a slot (or this server) first: re-read and retry.
                continue
            except OperationalError as e:
                if "locked" in str(e).lower() or "deadlock" in str(e).lower():
                    continue
                raise
        raise LedgerError(
            f"could not reserve a {slice_name} slice after {MAX_ATTEMPTS} conflicting attempts"
        )

    def _refuse_a_second(self, s: Session, user: str, server_name: str) -> None:
        """A server holds one allocation at a time: raise ServerAlreadyHolds for another."""
        existing = s.scalar(
            select(AllocationRow).where(
                AllocationRow.user == user,
                AllocationRow.server_name == server_name,
                AllocationRow.state.in_(SERVING),
            )
        )
        if existing is not None:
            raise ServerAlreadyHolds(AllocationRecord.from_row(existing))

    def _admit(self, s: Session, limits: Admission) -> LimitRefusal | None:
        # A user in no team is limited alone: their own records, their own lock.
        scope = limits.team if limits.team is not None else f"user {limits.user}"
        if s.bind.dialect.name == "postgresql":
            # Reservations of one team (or user) queue here until the first commits, so
            # each counts the others (SQLite's BEGIN IMMEDIATE already serialises writers).
            s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(scope)})
        now = self.clock()
        whose = AllocationRow.user == limits.user
        if limits.team is not None:
            whose = or_(AllocationRow.team == limits.team, whose)
        rows = s.scalars(
            select(AllocationRow)
            .where(whose)
            .where(
                or_(AllocationRow.state != RELEASED, AllocationRow.released_at > limits.since(now))
            )
            .order_by(AllocationRow.id)
        )
        return limits.admit([AllocationRecord.from_row(r) for r in rows], now)

    def _mix_in(self, s: Session) -> RequestMix:
        """The slices of the HISTORY most recent allocations: the mix placement serves."""
        recent = select(AllocationRow.slice_name).order_by(AllocationRow.id.desc()).limit(HISTORY)
        names = recent.subquery()
        rows = s.execute(select(names.c.slice_name, func.count()).group_by(names.c.slice_name))
        return RequestMix.observed({name: int(n) for name, n in rows})

    def _holdings_in(self, s: Session) -> list[Holding]:
        rows = s.scalars(select(AllocationRow).where(AllocationRow.state != RELEASED))
        return [h for r in rows if (h := AllocationRecord.from_row(r).holding()) is not None]

    def _insert(
        self, s: Session, p: Placement, user, server_name, image, team, epoch, engine, inventory
    ) -> AllocationRow:
        row = AllocationRow(
            user=user,
            server_name=server_name,
            team=team,
            image=image,
            slice_name=p.slice_name,
            weight=float(
                slice_profile(p.slice_name).gpu_hour_weight
                if p.gpu_hour_weight is None
                else p.gpu_hour_weight
            ),
            gpu_uuid=p.gpu_uuid,
            gpu_index=p.gpu_index,
            node=p.node,
            start=p.start,
            slots=encode_slots(p.slots),
            device_uuid=p.device_uuid,
            simulated=int(inventory.simulated),
            state=RESERVED,
            epoch=epoch,
            engine=engine,
            created_at=self.clock(),
        )
        s.add(row)
        s.flush()
        for slot in sorted(p.slots):
            s.add(SlotClaimRow(gpu_uuid=p.gpu_uuid, slot=slot, allocation_id=row.id))
        s.flush()
        return row

    def activate(
        self, allocation_id: int, *, engine_ref: str | None = None, device_uuid: str | None = None
    ) -> AllocationRecord:
        """reserved -> active (the engine runs the server). Idempotent."""
        with self._sessions() as s, s.begin():
            row = s.get(AllocationRow, allocation_id)
            if row is None or row.state == RELEASED:
                raise LedgerError(f"allocation {allocation_id} is not live")
            if row.state == RESERVED:
                row.state = ACTIVE
                row.activated_at = self.clock()
            if engine_ref is not None:
                row.engine_ref = engine_ref
            if device_uuid is not None:
                row.device_uuid = device_uuid
            self._audit(
                s,
                row.user,
                "activate",
                f"{row.user}/{row.server_name}",
                f"allocation {row.id} device {row.device_uuid}",
            )
            return AllocationRecord.from_row(row)

    def record_engine(
        self, allocation_id: int, *, engine_ref: str | None = None, device_uuid: str | None = None
    ) -> None:
        """Remember what the engine said (job id, container id, pid, granted device)."""
        values = {
            k: v
            for k, v in {"engine_ref": engine_ref, "device_uuid": device_uuid}.items()
            if v is not None
        }
        if not values:
            return
        with self._sessions() as s, s.begin():
            s.execute(
                update(AllocationRow).where(AllocationRow.id == allocation_id).values(**values)
            )

    def release(self, allocation_id: int, reason: str, actor: str = "hub") -> bool:
        """Give the slots back. Idempotent: False if it was already released."""
        with self._sessions() as s, s.begin():
            row = s.get(AllocationRow, allocation_id)
            if row is None or row.state == RELEASED:
                return False
            s.execute(delete(SlotClaimRow).where(SlotClaimRow.allocation_id == allocation_id))
            # A quarantined allocation stopped being charged when its server stopped.
            if row.state != QUARANTINED or row.released_at is None:
                row.released_at = self.clock()
            row.state = RELEASED
            row.release_reason = reason[:255]
            self._audit(
                s,
                actor,
                "release",
                f"{row.user}/{row.server_name}",
                f"allocation {row.id}: {reason}",
            )
            return True

    def quarantine(self, allocation_id: int, reason: str, actor: str = "hub") -> bool:
        """The server is gone but processes it left still run on its slice: keep the slots
        claimed, stop charging its user, and let the user start again elsewhere. False if
        the allocation was not serving."""
        with self._sessions() as s, s.begin():
            row = s.get(AllocationRow, allocation_id)
            if row is None or row.state not in SERVING:
                return False
            row.state = QUARANTINED
            row.released_at = self.clock()
            row.release_reason = reason[:255]
            self._audit(
                s,
                actor,
                "quarantine",
                f"{row.user}/{row.server_name}",
                f"allocation {row.id}: {reason}",
            )
            return True

    def reconcile(
        self,
        epoch: str,
        is_running: Callable[[AllocationRecord], bool | None],
        abandon: Callable[[AllocationRecord], None] = lambda _record: None,
    ) -> ReconcileReport:
        """Bring the ledger in line with reality at hub start-up.

        A reservation from an earlier hub process was a spawn that died with it: release.
        An active allocation whose server is gone (``is_running`` says False): release.
        Anything the probe cannot judge (None) is kept. ``abandon`` is called before a
        dead spawn's reservation is released, to stop what its engine may have started."""
        report = ReconcileReport()
        for record in self.live():
            if record.state == RESERVED and record.epoch != epoch:
                abandon(record)
                self.release(
                    record.id, "hub restarted while the server was starting", actor="reconcile"
                )
                report.released.append((record.id, "pending spawn of an earlier hub"))
            elif record.state == ACTIVE and is_running(record) is False:
                self.release(record.id, "server was gone when the hub started", actor="reconcile")
                report.released.append((record.id, "server gone"))
            elif record.state == QUARANTINED and is_running(record) is False:
                self.release(record.id, "quarantine over: nothing left on the slice", "reconcile")
                report.released.append((record.id, "quarantine over"))
            else:
                report.kept.append(record.id)
        return report

    # --- the waitlist ----------------------------------------------------------

    def enqueue(
        self,
        *,
        user: str,
        server_name: str,
        image: str,
        slice_name: str,
        epoch: str,
        expire_after: float,
        team: str | None = None,
    ) -> QueueEntry:
        """Put a start that found no capacity in the queue, or take over the entry this
        server already has (a hub restarted under it): its place and expiry are kept."""
        for _attempt in range(MAX_ATTEMPTS):
            try:
                with self._sessions() as s, s.begin():
                    row = s.scalar(
                        select(QueueRow).where(
                            QueueRow.user == user,
                            QueueRow.server_name == server_name,
                            QueueRow.state == WAITING,
                        )
                    )
                    subject = f"{user}/{server_name}"
                    if row is None:
                        now = self.clock()
                        row = QueueRow(
                            user=user,
                            server_name=server_name,
                            team=team,
                            image=image,
                            slice_name=slice_name,
                            state=WAITING,
                            epoch=epoch,
                            enqueued_at=now,
                            expires_at=now + expire_after,
                        )
                        s.add(row)
                        s.flush()
                        self._audit(s, user, "queue", subject, f"entry {row.id}: {slice_name}")
                    else:
                        row.epoch, row.image, row.slice_name = epoch, image, slice_name
                        row.team = team
                        self._audit(s, user, "queue-resume", subject, f"entry {row.id}")
                    return QueueEntry.from_row(row)
            except IntegrityError:
                continue  # the same server was queued by another writer at once
            except OperationalError as e:
                if "locked" in str(e).lower() or "deadlock" in str(e).lower():
                    continue
                raise
        raise LedgerError(f"could not queue {user}/{server_name}")

    def queue(self) -> list[QueueEntry]:
        """The waiting entries, in arrival order."""
        with self._sessions() as s:
            rows = s.scalars(
                select(QueueRow).where(QueueRow.state == WAITING).order_by(QueueRow.id)
            )
            return [QueueEntry.from_row(r) for r in rows]

    def queue_overlapping(self, since: float, until: float) -> list[QueueEntry]:
        """Entries that waited at some time in [since, until), ended or not (the capacity
        page's queue chart)."""
        with self._sessions() as s:
            rows = s.scalars(
                select(QueueRow)
                .where(QueueRow.enqueued_at < until)
                .where(or_(QueueRow.ended_at.is_(None), QueueRow.ended_at > since))
                .order_by(QueueRow.id)
            )
            return [QueueEntry.from_row(r) for r in rows]

    def queue_entry(self, entry_id: int) -> QueueEntry | None:
        with self._sessions() as s:
            row = s.get(QueueRow, entry_id)
            return QueueEntry.from_row(row) if row else None

    def queue_order(self) -> list[QueueEntry]:
        """The waiting entries in the fair order they get capacity."""
        with self._sessions() as s:
            entries = self._waiting_in(s)
            order = fair_order([e.waiting() for e in entries.values()], self._held_in(s))
            return [entries[w.id] for w in order]

    def leave_queue(self, entry_id: int, state: str, reason: str, actor: str = "hub") -> bool:
        """End a wait without a start (``left``, ``expired``, ``refused``). Idempotent:
        False when the entry was not waiting."""
        with self._sessions() as s, s.begin():
            done = s.execute(
                update(QueueRow)
                .where(QueueRow.id == entry_id, QueueRow.state == WAITING)
                .values(state=state, ended_at=self.clock())
            )
            if done.rowcount != 1:
                return False
            row = s.get(QueueRow, entry_id)
            self._audit(s, actor, f"queue-{state}", f"{row.user}/{row.server_name}", reason)
            return True

    def start_queued(
        self,
        entry_id: int,
        *,
        inventory: Inventory,
        epoch: str,
        engine: str = "local",
        strategy: PlacementStrategy = PlacementStrategy.FRAGMENTATION_AWARE,
        limits: Admission | None = None,
    ) -> AllocationRecord | QueueStatus | LimitRefusal:
        """Start a queued entry if its turn has come: in one transaction, the fair order
        of the whole queue is placed on the holdings; if this entry fits after those
        before it, it stops waiting and its allocation is reserved (the limits checked
        again: a refusal ends the wait). The conditional update of the entry's state is
        the claim: of two hubs, one starts it, the other finds it gone."""
        for _attempt in range(MAX_ATTEMPTS):
            try:
                with self._sessions() as s, s.begin():
                    if s.bind.dialect.name == "postgresql":
                        s.execute(
                            text("SELECT pg_advisory_xact_lock(:key)"),
                            {"key": _lock_key(QUEUE_LOCK)},
                        )
                    entries = self._waiting_in(s)
                    order = tuple(
                        fair_order([e.waiting() for e in entries.values()], self._held_in(s))
                    )
                    entry = entries.get(entry_id)
                    place = next((i + 1 for i, w in enumerate(order) if w.id == entry_id), 0)
                    if entry is None:
                        return QueueStatus(None, order, 0)
                    holdings = self._holdings_in(s)
                    mix = self._mix_in(s)
                    now = self.clock()
                    booked = booking_in(
                        s, inventory, holdings, entry.slice_name, entry.team, now, strategy, mix
                    )
                    # A member takes a kept slice of their course at once; the queue's
                    # order places around the kept ones.
                    # Now, those behind this entry never change where it fits.
                    placement = booked.take or starts_now(
                        order[:place], inventory, [*holdings, *booked.around], strategy, mix
                    ).get(entry_id)
                    kept = guarded(booked, placement, inventory, holdings, now, strategy, mix)
                    if placement is None or isinstance(kept, Refusal):
                        return QueueStatus(entry, order, place)
                    claimed = s.execute(
                        update(QueueRow)
                        .where(QueueRow.id == entry_id, QueueRow.state == WAITING)
                        .values(state=STARTED, ended_at=self.clock())
                    )
                    if claimed.rowcount != 1:
                        return QueueStatus(None, order, 0)
                    subject = f"{entry.user}/{entry.server_name}"
                    self._refuse_a_second(s, entry.user, entry.server_name)
                    if limits is not None:
                        refusal = self._admit(s, limits)
                        if refusal is not None:
                            s.execute(
                                update(QueueRow)
                                .where(QueueRow.id == entry_id)
                                .values(state=REFUSED)
                            )
                            self._audit(s, "hub", "queue-refused", subject, refusal.message)
                            return refusal
                    row = self._insert(
                        s,
                        placement,
                        entry.user,
                        entry.server_name,
                        entry.image,
                        entry.team,
                        epoch,
                        engine,
                        inventory,
                    )
                    record_claim(s, booked, row.id, now, entry.user)
                    s.execute(
                        update(QueueRow).where(QueueRow.id == entry_id).values(allocation_id=row.id)
                    )
                    detail = f"from queue entry {entry_id}: {_describe(placement)}"
                    self._audit(s, entry.user, "reserve", subject, detail)
                    return AllocationRecord.from_row(row)
            except IntegrityError:
                continue
            except OperationalError as e:
                if "locked" in str(e).lower() or "deadlock" in str(e).lower():
                    continue
                raise
        raise LedgerError(f"could not start queue entry {entry_id}")

    def session_lengths(self, limit: int = SESSION_HISTORY) -> list[float]:
        """Seconds the most recent ended sessions ran (activation to release)."""
        with self._sessions() as s:
            rows = s.execute(
                select(AllocationRow.activated_at, AllocationRow.released_at)
                .where(AllocationRow.state == RELEASED, AllocationRow.activated_at.is_not(None))
                .order_by(AllocationRow.id.desc())
                .limit(limit)
            )
            return [max(0.0, end - start) for start, end in rows if end is not None]

    def _waiting_in(self, s: Session) -> dict[int, QueueEntry]:
        rows = s.scalars(select(QueueRow).where(QueueRow.state == WAITING).order_by(QueueRow.id))
        return {r.id: QueueEntry.from_row(r) for r in rows}

    def _held_in(self, s: Session) -> dict[str, float]:
        """The GPU share each party (team, or user in no team) holds now."""
        held: dict[str, float] = {}
        rows = s.execute(
            select(AllocationRow.team, AllocationRow.user, AllocationRow.weight).where(
                AllocationRow.state.in_(SERVING)
            )
        )
        for team, user, weight in rows:
            key = party(team, user)
            held[key] = held.get(key, 0.0) + float(weight or 0.0)
        return held

    def audit(self, actor: str, action: str, subject: str, detail: str = "") -> None:
        with self._sessions() as s, s.begin():
            self._audit(s, actor, action, subject, detail)

    def audit_log(self, limit: int = 200) -> list[dict]:
        with self._sessions() as s:
            rows = s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit))
            return [
                {
                    "at": r.at,
                    "actor": r.actor,
                    "action": r.action,
                    "subject": r.subject,
                    "detail": r.detail,
                }
                for r in rows
            ]

    def last_audit(self, action: str) -> dict | None:
        """The most recent audit entry of ``action``, or None."""
        with self._sessions() as s:
            r = s.scalar(
                select(AuditRow)
                .where(AuditRow.action == action)
                .order_by(AuditRow.id.desc())
                .limit(1)
            )
            if r is None:
                return None
            return {
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "subject": r.subject,
                "detail": r.detail,
            }

    def _audit(self, s: Session, actor: str, action: str, subject: str, detail: str) -> None:
        s.add(AuditRow(at=self.clock(), actor=actor, action=action, subject=subject, detail=detail))


def _describe(p: Placement) -> str:
    if p.gpu_uuid is None:
        return f"{p.slice_name} (no GPU)"
    return (
        f"{p.slice_name} on GPU {p.gpu_index} slots {encode_slots(p.slots)} device {p.device_uuid}"
    )


def _lock_key(scope: str) -> int:
    # A stable signed 64-bit key per team (or user) for pg_advisory_xact_lock.
    return int.from_bytes(
        hashlib.blake2b(scope.encode(), digest_size=8).digest(), "big", signed=True
    )


def release_all(ledger: Ledger, ids: Iterable[int], reason: str) -> None:
    for i in ids:
        ledger.release(i, reason)
