"""The slices service's queue view: the waiting starts in fair order, with how long each
has waited and has left."""

from __future__ import annotations

from pathlib import Path

from extensions.slices_service.queue_api import queue_view
from spawners.inventory.simulated import simulated_inventory
from spawners.ledger.ledger import Ledger
from spawners.ledger.records import AllocationRecord
from tests.support.ledger_db import FakeClock


def test_the_queue_is_listed_in_fair_order_with_its_times(tmp_path: Path) -> None:
    clock = FakeClock(1_000.0)
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}", clock=clock)
    ledger.create_schema()
    try:
        inventory = simulated_inventory(1)
        held = ledger.reserve(
            user="holder",
            server_name="",
            image="base",
            slice_name="7g.80gb",
            inventory=inventory,
            epoch="e",
            team="big",
        )
        assert isinstance(held, AllocationRecord)
        for user, team in (("a", "big"), ("b", "small")):
            ledger.enqueue(
                user=user,
                server_name="",
                image="base",
                slice_name="1g.10gb",
                epoch="e",
                expire_after=600,
                team=team,
            )
            clock.advance(60)
        view = queue_view(ledger)["queue"]
        assert [(e["position"], e["user"], e["team"]) for e in view] == [
            (1, "b", "small"),
            (2, "a", "big"),
        ]
        assert [(e["waited_s"], e["expires_in_s"]) for e in view] == [(60, 540), (120, 480)]
        assert view[0]["slice"] == "1g.10gb" and view[0]["state"] == "waiting"
    finally:
        ledger.dispose()
