"""Fixtures for the policy tests: a clock the test moves, teams built from site text,
and ledgers on SQLite and on a private PostgreSQL (the limits are checked inside the
ledger's reservation transaction, so both databases must keep them race-free)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine

from spawners.core.policy import Teams, teams_from_site
from spawners.ledger.ledger import Ledger
from spawners.ledger.schema import Base
from tests.support.postgres import postgresql_url  # noqa: F401  (a fixture)

MARCH_10 = datetime(2025, 3, 10, tzinfo=UTC).timestamp()
"""A Monday, 00:00 UTC, in the middle of a month."""

SITE_IMAGES = ("base", "speech", "vision", "medical", "legal")


class FakeClock:
    def __init__(self, now: float = MARCH_10) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def teams_from_yaml(text: str) -> Teams:
    return teams_from_site(yaml.safe_load(text), site_images=SITE_IMAGES)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("postgresql_url")
        engine = create_engine(url)
        try:
            Base.metadata.drop_all(engine)  # the server lives for the session: start empty
        finally:
            engine.dispose()
    ledger = Ledger(url)
    ledger.create_schema()
    ledger.dispose()
    yield url


@pytest.fixture
def ledger(ledger_url: str, clock: FakeClock) -> Iterator[Ledger]:
    ledger = Ledger(ledger_url, clock=clock)
    try:
        yield ledger
    finally:
        ledger.dispose()
