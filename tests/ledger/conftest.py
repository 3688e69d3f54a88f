"""One ledger contract, two databases: every test here that takes ``ledger_url`` (or
``ledger``) runs on SQLite (a temp file) and on a private PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from spawners.core.model import Inventory
from spawners.inventory.simulated import simulated_inventory
from spawners.ledger.ledger import Ledger
from spawners.ledger.schema import Base
from tests.support.postgres import postgresql_url  # noqa: F401  (a fixture)

BACKENDS = ["sqlite", "postgresql"]


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty ledger database (schema created) on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("postgresql_url")
    engine = create_engine(url)
    try:
        # The PostgreSQL database lives for the session: start every test from empty.
        Base.metadata.drop_all(engine)
    finally:
        engine.dispose()
    ledger = Ledger(url)
    ledger.create_schema()
    ledger.dispose()
    yield url


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
