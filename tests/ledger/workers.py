"""Code that runs in separate OS processes (multiprocessing, spawn) for the concurrency
tests. Importable on its own: a spawned child imports this module, not the test."""

from __future__ import annotations

import traceback
from typing import Any

from spawners.core.model import Refusal
from spawners.inventory.simulated import simulated_inventory
from spawners.ledger.ledger import Ledger, ServerAlreadyHolds


def reserve_many(
    url: str,
    gpu_count: int,
    requests: list[tuple[str, str, str]],
    tag: str,
    barrier: Any,
    results: Any,
) -> None:
    """Reserve each (user, server_name, slice) in turn, after every worker is ready.

    Puts ``(tag, outcomes)`` on ``results``; an outcome is ``("granted", id, gpu, slots)``,
    ``("refused", code)`` or ``("already", id)``; ``(tag, "error", traceback)`` on a crash.
    """
    ledger = None
    try:
        ledger = Ledger(url)
        inventory = simulated_inventory(gpu_count)
        ledger.live()  # connect before the start line, so the race is the reservations
        barrier.wait(timeout=60)
        outcomes: list[tuple] = []
        for user, server_name, slice_name in requests:
            try:
                got = ledger.reserve(
                    user=user,
                    server_name=server_name,
                    image="base",
                    slice_name=slice_name,
                    inventory=inventory,
                    epoch="epoch-1",
                )
            except ServerAlreadyHolds as e:
                outcomes.append(("already", e.record.id))
                continue
            if isinstance(got, Refusal):
                outcomes.append(("refused", got.code.value))
            else:
                outcomes.append(("granted", got.id, got.gpu_uuid, tuple(sorted(got.slots))))
        results.put((tag, outcomes))
    except BaseException:
        results.put((tag, "error", traceback.format_exc()))
    finally:
        if ledger is not None:
            ledger.dispose()
