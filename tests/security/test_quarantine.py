"""A device is never handed on while something still computes on it: a stopped server's
slice whose device NVML still reports processes on is quarantined (claimed, shown, not
charged) until they are gone. No GPU runs here, so NVML is a replay of what it reports
(nvmlDeviceGetComputeRunningProcesses on a MIG device handle)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from jupyterhub.spawner import Spawner

from spawners import mixin
from spawners.core.model import Refusal
from spawners.inventory.nvml_processes import device_process_ids
from spawners.ledger.ledger import Ledger
from spawners.mixin import SliceSpawnerMixin
from tests.backends import inprocess


class StoppedEngine(Spawner):
    """An engine whose server is already gone when asked to stop."""

    async def start(self):  # pragma: no cover - the test reserves directly
        raise NotImplementedError

    async def stop(self, now: bool = False) -> None:
        return None

    async def poll(self) -> int | None:
        return 0


class Spawned(SliceSpawnerMixin, StoppedEngine):
    pass


class ReplayedNvml:
    """NVML's answers for one MIG device: the processes on it, until they end."""

    class NVMLError(Exception):
        pass

    def __init__(self, device_uuid: str, pids: list[int]) -> None:
        self.device_uuid = device_uuid
        self.pids = list(pids)

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> str:
        if uuid != self.device_uuid:
            raise self.NVMLError("NVML_ERROR_NOT_FOUND")
        return uuid

    def nvmlDeviceGetComputeRunningProcesses(self, handle: str) -> list:
        return [SimpleNamespace(pid=p, usedGpuMemory=2**30) for p in self.pids]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: str) -> list:
        return []


def test_nvml_process_listing_reads_compute_processes_of_that_device() -> None:
    nvml = ReplayedNvml("MIG-aaaa", [4242, 4243])
    assert device_process_ids(nvml, "MIG-aaaa") == [4242, 4243]
    assert device_process_ids(nvml, "MIG-unknown") == []


def _reserve(ctx, user: str, slice_name: str):
    return ctx.ledger.reserve(
        user=user,
        server_name="",
        image="base",
        slice_name=slice_name,
        inventory=ctx.inventory,
        epoch=ctx.epoch,
    )


def test_a_device_still_in_use_is_quarantined_until_it_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mixin, "QUARANTINE_CHECK_SECONDS", 0.05)
    ctx = inprocess.slice_context(tmp_path)
    held = _reserve(ctx, "bob", "7g.80gb")
    ctx.ledger.activate(held.id)
    # Replayed as a real device: the record is not simulated; our own pid stands in for
    # the process bob left on it (its owner is shown).
    nvml = ReplayedNvml(held.device_uuid, [os.getpid()])
    ctx.device_processes = lambda uuid: device_process_ids(nvml, uuid)
    record = ctx.ledger.get(held.id)
    record = dataclasses.replace(record, simulated=False)

    async def scenario() -> None:
        spawner = Spawned(user=inprocess.user("bob"), hub=inprocess.hub(), slice_context=ctx)
        spawner.allocation = record
        await spawner.stop()
        quarantined = ctx.ledger.get(held.id)
        assert quarantined.state == "quarantined"
        assert f"{os.getpid()} (" in quarantined.release_reason
        # The slots stay claimed: nobody else gets that device ...
        assert isinstance(_reserve(ctx, "alice", "1g.10gb"), Refusal)
        # ... and bob is charged no longer and may start again.
        assert quarantined.released_at is not None
        assert ctx.ledger.live_for("bob", "") is None
        # The process ends: the watcher gives the slice back.
        nvml.pids.clear()
        for _ in range(100):
            if ctx.ledger.get(held.id).state == "released":
                break
            await asyncio.sleep(0.05)
        released = ctx.ledger.get(held.id)
        assert released.state == "released"
        assert released.released_at == quarantined.released_at, "not charged for quarantine"
        assert not isinstance(_reserve(ctx, "alice", "1g.10gb"), Refusal)

    asyncio.run(scenario())


def test_a_restarted_hub_keeps_or_ends_a_quarantine_by_asking_the_engine(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    ledger.create_schema()
    ctx = inprocess.slice_context(tmp_path)
    a = _reserve(ctx, "bob", "3g.40gb")
    b = _reserve(ctx, "carol", "3g.40gb")
    for r in (a, b):
        ctx.ledger.activate(r.id)
        assert ctx.ledger.quarantine(r.id, "still running: 1 (x)")
    still = {a.id: True, b.id: False}
    report = ledger.reconcile("new-epoch", lambda record: still[record.id])
    assert ledger.get(a.id).state == "quarantined"
    assert ledger.get(b.id).state == "released"
    assert (b.id, "quarantine over") in report.released
