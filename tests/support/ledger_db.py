"""Shared by the ledger and policy suites: a clock the test moves, and an empty ledger
database on SQLite or on the session's private PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from spawners.ledger.ledger import Ledger
from spawners.ledger.schema import Base

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


def empty_ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty ledger database (schema created) on the backend ``request.param`` names."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("postgresql_url")
        engine = create_engine(url)
        try:
            # The PostgreSQL server lives for the session: start every test from empty.
            Base.metadata.drop_all(engine)
        finally:
            engine.dispose()
    ledger = Ledger(url)
    ledger.create_schema()
    ledger.dispose()
    return url
