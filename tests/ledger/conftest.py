"""One ledger contract, two databases: every test here that takes ``ledger_url`` (or
``ledger``) runs on SQLite (a temp file) and on a private PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spawners.core.model import Inventory
from spawners.inventory.simulated import simulated_inventory
from spawners.ledger.ledger import Ledger
from tests.support.ledger_db import BACKENDS, FakeClock, empty_ledger_url
from tests.support.postgres import postgresql_url  # noqa: F401  (a fixture)


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty ledger database (schema created) on each backend."""
    yield empty_ledger_url(request, tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(ledger_url: str, clock: FakeClock) -> Iterator[Ledger]:
    ledger = Ledger(ledger_url, clock=clock)
    try:
        yield ledger
    finally:
        ledger.dispose()


@pytest.fixture
def two_gpus() -> Inventory:
    """Two simulated H100 80GB in MIG mode: 14 1g.10gb slots."""
    return simulated_inventory(2)


@pytest.fixture
def one_gpu() -> Inventory:
    return simulated_inventory(1)
