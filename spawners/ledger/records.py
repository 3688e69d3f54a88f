"""Plain values read out of the ledger (no session attached)."""

from __future__ import annotations

from dataclasses import dataclass

from spawners.core.model import Holding
from spawners.core.waitlist import Waiting


def encode_slots(slots: frozenset[int]) -> str:
    return ",".join(str(s) for s in sorted(slots))


def decode_slots(text: str) -> frozenset[int]:
    return frozenset(int(s) for s in text.split(",") if s)


@dataclass(frozen=True)
class AllocationRecord:
    id: int
    user: str
    server_name: str
    team: str | None
    image: str
    slice_name: str
    weight: float
    gpu_uuid: str | None
    gpu_index: int | None
    node: str | None
    start: int | None
    slots: frozenset[int]
    device_uuid: str | None
    simulated: bool
    state: str
    epoch: str
    engine: str
    engine_ref: str | None
    created_at: float
    activated_at: float | None
    released_at: float | None
    release_reason: str | None

    @classmethod
    def from_row(cls, row) -> AllocationRecord:
        return cls(
            id=row.id,
            user=row.user,
            server_name=row.server_name,
            team=row.team,
            image=row.image,
            slice_name=row.slice_name,
            weight=row.weight,
            gpu_uuid=row.gpu_uuid,
            gpu_index=row.gpu_index,
            node=row.node,
            start=row.start,
            slots=decode_slots(row.slots),
            device_uuid=row.device_uuid,
            simulated=bool(row.simulated),
            state=row.state,
            epoch=row.epoch,
            engine=row.engine,
            engine_ref=row.engine_ref,
            created_at=row.created_at,
            activated_at=row.activated_at,
            released_at=row.released_at,
            release_reason=row.release_reason,
        )

    def holding(self) -> Holding | None:
        if self.gpu_uuid is None:
            return None
        return Holding(self.gpu_uuid, self.slice_name, self.slots, self.start, self.device_uuid)

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "user": self.user,
            "server_name": self.server_name,
            "team": self.team,
            "image": self.image,
            "slice": self.slice_name,
            "gpu_uuid": self.gpu_uuid,
            "gpu_index": self.gpu_index,
            "node": self.node,
            "start": self.start,
            "slots": sorted(self.slots),
            "device_uuid": self.device_uuid,
            "simulated": self.simulated,
            "state": self.state,
            "since": self.activated_at or self.created_at,
            "created_at": self.created_at,
            "released_at": self.released_at,
        }


@dataclass(frozen=True)
class QueueEntry:
    """One start in the waitlist, read out of the ledger."""

    id: int
    user: str
    server_name: str
    team: str | None
    image: str
    slice_name: str
    state: str
    epoch: str
    enqueued_at: float
    expires_at: float
    ended_at: float | None
    allocation_id: int | None

    @classmethod
    def from_row(cls, row) -> QueueEntry:
        return cls(
            id=row.id,
            user=row.user,
            server_name=row.server_name,
            team=row.team,
            image=row.image,
            slice_name=row.slice_name,
            state=row.state,
            epoch=row.epoch,
            enqueued_at=row.enqueued_at,
            expires_at=row.expires_at,
            ended_at=row.ended_at,
            allocation_id=row.allocation_id,
        )

    def waiting(self) -> Waiting:
        return Waiting(
            self.id, self.user, self.team, self.slice_name, self.enqueued_at, self.expires_at
        )

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "user": self.user,
            "server_name": self.server_name,
            "team": self.team,
            "image": self.image,
            "slice": self.slice_name,
            "state": self.state,
            "enqueued_at": self.enqueued_at,
            "expires_at": self.expires_at,
        }
