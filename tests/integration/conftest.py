from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hub import Hub, write_site

TEST_SITE = """
site: {name: Test hub}
hub:
  start_timeout: 120
  http_timeout: 90
gpus:
  source: simulated
  simulated_count: 1
"""

TEAMS_SITE = (
    TEST_SITE
    + """teams:
  lab:
    kind: course
    groups: [lab]
    policy: {idle_timeout: 1h}
"""
)
"""The test hub with one team, so the idle culler and the quota service run too."""

REFUSING_SITE = TEST_SITE.replace("hub:\n", "hub:\n  queue: {enabled: false}\n", 1)
"""The test hub with the waitlist off: a start that finds no free slice is refused (409)."""


@pytest.fixture
def make_hub(tmp_path: Path) -> Iterator:
    hubs: list[Hub] = []

    def factory(site_text: str = TEST_SITE, name: str = "hub", **env: str) -> Hub:
        site = write_site(tmp_path / f"{name}-site.yaml", site_text)
        hub = Hub(tmp_path / name, site=site, env=env)
        hubs.append(hub)
        return hub.start()

    yield factory
    for hub in hubs:
        hub.stop()
    for hub in hubs:
        hub.remove_homes()
