"""A hostile user on a hub without teams (the embedded default's shape) replays the
attack that once took a whole GPU: one 1g.10gb slice per named server, then cpu
servers. The hub's defaults (one GPU slice and two named servers per user) refuse the
rest, through the real hub, proxy and ledger; concurrent spawns cannot slip past."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.conftest import make_hub  # noqa: F401  (a fixture)
from tests.support.hub import Hub

pytestmark = pytest.mark.integration

GPU = {"image": "base", "slice": "1g.10gb"}
CPU = {"image": "base", "slice": "cpu"}
STARTED = (201, 202)


def gpu_limit(server: str) -> str:
    return (
        f"Limit reached: you already hold 1 GPU slice ({server or 'default server'}: 1g.10gb); "
        "this hub allows 1 per user. Stop one to start another."
    )


def named_limit(user: str) -> str:
    # JupyterHub's own words (named_server_limit_per_user).
    return (
        f"User {user} already has the maximum of 2 named servers.  One must be deleted "
        "before a new server can be created"
    )


def message(r) -> str:
    return r.json()["message"]


def held(hub: Hub) -> list[tuple[str, str, str]]:
    return sorted((a["user"], a["server_name"], a["slice"]) for a in hub.allocations())


def stopped_options(hub: Hub, user: str, server: str) -> dict:
    r = hub.get(f"/users/{user}?include_stopped_servers=1")
    r.raise_for_status()
    return r.json()["servers"][server]["user_options"]


def test_named_servers_cannot_take_the_gpu(make_hub) -> None:  # noqa: F811
    hub = make_hub()
    # Before the attack: a cpu default server that ran once (its options are kept).
    assert hub.spawn("mallory", CPU).status_code in STARTED
    hub.wait_ready("mallory")
    hub.stop_server("mallory")

    assert hub.spawn("mallory", GPU, "g1").status_code in STARTED
    hub.wait_ready("mallory", "g1")

    # The second GPU slice: refused by the ledger (403), saying what is held.
    r = hub.spawn("mallory", GPU, "g2")
    assert r.status_code == 403, r.text
    assert message(r) == gpu_limit("g1")
    assert stopped_options(hub, "mallory", "g2") == {}  # nothing worked there yet
    # A refused server still exists (stopped), so the third named server is one too
    # many for JupyterHub (400), whatever its slice.
    for name, options in [*((f"g{i}", GPU) for i in range(3, 8)), ("c1", CPU), ("c2", CPU)]:
        r = hub.spawn("mallory", options, name)
        assert r.status_code == 400, (name, r.text)
        assert message(r) == named_limit("mallory")
    # The default server is bounded by the same GPU limit, and keeps its last options.
    r = hub.spawn("mallory", GPU)
    assert r.status_code == 403, r.text
    assert message(r) == gpu_limit("g1")
    assert stopped_options(hub, "mallory", "") == CPU
    # cpu servers hold no GPU: allowed, within the named-server limit.
    assert hub.spawn("mallory", CPU, "g2").status_code in STARTED
    hub.wait_ready("mallory", "g2")
    assert hub.spawn("mallory", CPU).status_code in STARTED
    hub.wait_ready("mallory")

    assert held(hub) == [
        ("mallory", "", "cpu"),
        ("mallory", "g1", "1g.10gb"),
        ("mallory", "g2", "cpu"),
    ]
    # The GPU is still there for everyone else.
    assert hub.spawn("victim", GPU).status_code in STARTED
    hub.wait_ready("victim")
    assert ("victim", "", "1g.10gb") in held(hub)

    # Stop one to start another, as the refusal says.
    hub.stop_server("mallory", "g1")
    hub.stop_server("mallory", "g2")
    assert hub.spawn("mallory", GPU, "g2").status_code in STARTED
    hub.wait_ready("mallory", "g2")
    assert [h for h in held(hub) if h[0] == "mallory"] == [
        ("mallory", "", "cpu"),
        ("mallory", "g2", "1g.10gb"),
    ]


def test_concurrent_named_spawns_grant_one_gpu_slice(make_hub) -> None:  # noqa: F811
    hub = make_hub()
    hub.ensure_user("racer")
    servers = ["r1", "r2"]
    for _round in range(2):
        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            responses = list(pool.map(lambda s: hub.spawn("racer", GPU, s), servers))
        codes = [r.status_code for r in responses]
        winners = [s for s, r in zip(servers, responses, strict=True) if r.status_code in STARTED]
        assert len(winners) == 1 and 403 in codes, codes
        [winner] = winners
        [loser] = [r for r in responses if r.status_code == 403]
        assert message(loser) == gpu_limit(winner)
        hub.wait_ready("racer", winner)
        assert held(hub) == [("racer", winner, "1g.10gb")]
        hub.stop_server("racer", winner)
