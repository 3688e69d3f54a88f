"""Hostile user_options through the REST API: 400, a safe message, nothing changed."""

from __future__ import annotations

import pytest

from tests.support.hub import Hub

pytestmark = pytest.mark.integration

LAST_GOOD = {"image": "base", "slice": "1g.10gb"}
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
    # One start that worked: its options are what a refused request must leave in place.
    h.ensure_user("mallory")
    assert h.spawn("mallory", LAST_GOOD).status_code in (201, 202)
    h.wait_ready("mallory")
    h.stop_server("mallory")
    yield h
    h.stop()


def stored_options(hub: Hub) -> dict:
    """The options JupyterHub keeps for mallory's (stopped) server: the form's defaults
    and what a plain restart would use."""
    r = hub.get("/users/mallory", params={"include_stopped_servers": "1"})
    r.raise_for_status()
    return r.json()["servers"][""]["user_options"]


@pytest.mark.parametrize(("options", "expected"), HOSTILE)
def test_hostile_options_are_refused_and_change_nothing(hub: Hub, options, expected) -> None:
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
    # JupyterHub stores a request's options before the spawner sees them: the refused
    # ones must not become this server's defaults.
    assert stored_options(hub) == LAST_GOOD


def test_a_valid_request_after_hostile_ones_still_works(hub: Hub) -> None:
    r = hub.spawn("mallory", LAST_GOOD)
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("mallory")
    assert [a["slice"] for a in hub.allocations()] == ["1g.10gb"]
    hub.stop_server("mallory")
    assert hub.allocations() == []
