"""Fixtures for the policy tests: a clock the test moves, teams built from site text,
and ledgers on SQLite and on a private PostgreSQL (the limits are checked inside the
ledger's reservation transaction, so both databases must keep them race-free)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from hub_config.site import DEFAULTS_PATH, deep_merge
from spawners.core.policy import Policy, Teams, policy_from_mapping, teams_from_site
from spawners.ledger.ledger import Ledger
from tests.support.ledger_db import BACKENDS, FakeClock, empty_ledger_url
from tests.support.postgres import postgresql_url  # noqa: F401  (a fixture)

MARCH_10 = datetime(2025, 3, 10, tzinfo=UTC).timestamp()
"""A Monday, 00:00 UTC, in the middle of a month."""

SITE_IMAGES = ("base", "speech", "vision", "medical", "legal")


DEFAULT_TEAMS = yaml.safe_load(DEFAULTS_PATH.read_text(encoding="utf-8"))["teams"]
"""The built-in teams section (its default_policy): what a site's teams are read over."""


def teams_from_yaml(text: str) -> Teams:
    """Teams from a site file's ``teams`` text, over the built-in defaults as the hub
    reads them (hub_config/defaults.yaml)."""
    section = deep_merge(DEFAULT_TEAMS, yaml.safe_load(text) or {})
    return teams_from_site(section, site_images=SITE_IMAGES)


def default_policy(**overrides: object) -> Policy:
    """The built-in default policy with ``overrides`` (its keys as in the site file)."""
    return policy_from_mapping(
        deep_merge(DEFAULT_TEAMS["default_policy"], overrides), "test", SITE_IMAGES
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MARCH_10)


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty ledger database (schema created) on each backend."""
    yield empty_ledger_url(request, tmp_path)


@pytest.fixture
def ledger(ledger_url: str, clock: FakeClock) -> Iterator[Ledger]:
    ledger = Ledger(ledger_url, clock=clock)
    try:
        yield ledger
    finally:
        ledger.dispose()
