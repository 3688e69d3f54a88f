"""Hostile user_options through the REST API: 400, a safe message, nothing changed."""

from __future__ import annotations

import pytest

from tests.support.hub import Hub

pytestmark = pytest.mark.integration

HOSTILE = [
    ({"image": "base", "slice": "1g.10gb", "gres": "gpu:7g.80gb:8"}, "Unknown option"),
    ({"image": "windows", "slice": "1g.10gb"}, "Unknown image"),
    ({"image": "base", "slice": "9g.90gb"}, "Unknown slice"),
    ({"image": "base", "slice": 7}, "must be a string"),
    ({"image": ["base"], "slice": "1g.10gb"}, "must be a string"),
    ({"image": "base", "slice": {"$ne": ""}}, "must be a string"),
    ({"image": "base", "slice": "1g.10gb" * 5000}, "Unknown slice"),
    ({"image": "base\nRUN rm -rf /", "slice": "1g.10gb"}, "Unknown image"),
    ({"image": "base", "slice": "1g.10gb\n#SBATCH --gres=gpu:8"}, "Unknown slice"),
    ({"image": None, "slice": "1g.10gb"}, "must be a string"),
]


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    from tests.integration.conftest import TEST_SITE
    from tests.support.hub import write_site

    tmp = tmp_path_factory.mktemp("hostile")
    h = Hub(tmp / "hub", site=write_site(tmp / "site.yaml", TEST_SITE))
    h.start()
    yield h
    h.stop()


@pytest.mark.parametrize(("options", "expected"), HOSTILE)
def test_hostile_options_are_refused_and_change_nothing(hub: Hub, options, expected) -> None:
    hub.ensure_user("mallory")
    before_inventory = hub.inventory()
    r = hub.spawn("mallory", options)
    assert r.status_code == 400, r.text
    message = r.json()["message"]
    assert expected in message
    assert "Traceback" not in message and "\n" not in message and len(message) < 300
    assert "rm -rf" not in message and "SBATCH" not in message
    assert hub.server("mallory") is None
    assert hub.allocations() == []
    assert hub.inventory() == before_inventory
    # The refused options were not kept as this server's defaults.
    spawner_options = hub.user("mallory").get("servers", {})
    assert spawner_options == {}


def test_a_valid_request_after_hostile_ones_still_works(hub: Hub) -> None:
    r = hub.spawn("mallory", {"image": "base", "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("mallory")
    assert [a["slice"] for a in hub.allocations()] == ["1g.10gb"]
    hub.stop_server("mallory")
    assert hub.allocations() == []
