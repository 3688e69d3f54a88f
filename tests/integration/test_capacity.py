"""Capacity under concurrency: no slice is ever double-booked or leaked."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.support.hub import Hub, wait_for

from .conftest import REFUSING_SITE


def test_twelve_concurrent_1g10gb_then_two_3g40gb(make_hub) -> None:
    hub: Hub = make_hub(REFUSING_SITE)
    users = [f"user{i:02d}" for i in range(12)]
    for u in users:
        hub.ensure_user(u)

    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(
            pool.map(lambda u: hub.post(f"/users/{u}/server", json={"slice": "1g.10gb"}), users)
        )

    started = [u for u, r in zip(users, responses, strict=True) if r.status_code in (201, 202)]
    refused = [r for r in responses if r.status_code == 409]
    assert len(started) == 7, [r.status_code for r in responses]
    assert len(refused) == 5
    for r in refused:
        message = r.json()["message"]
        assert "No 1g.10gb slice is free right now" in message
        assert "Free now: nothing" in message

    for u in started:
        hub.wait_ready(u, timeout=240)
    allocations = hub.allocations()
    assert len(allocations) == 7
    assert sorted(a["slots"][0] for a in allocations) == [0, 1, 2, 3, 4, 5, 6]
    assert len({a["device_uuid"] for a in allocations}) == 7
    assert all(a["state"] == "active" for a in allocations)

    for u in started:
        hub.delete(f"/users/{u}/server")
    wait_for(lambda: not any(hub.server(u) for u in started), 120, "servers to stop")
    assert hub.allocations() == []
    assert hub.inventory()["free"] == {
        "1g.10gb": 7,
        "1g.20gb": 4,
        "2g.20gb": 3,
        "3g.40gb": 2,
        "4g.40gb": 1,
        "7g.80gb": 1,
    }

    first = hub.spawn("big1", {"slice": "3g.40gb"})
    second = hub.spawn("big2", {"slice": "3g.40gb"})
    assert first.status_code in (201, 202) and second.status_code in (201, 202)
    third = hub.spawn("big3", {"slice": "3g.40gb"})
    assert third.status_code == 409
    assert "No 3g.40gb slice is free right now" in third.json()["message"]
    hub.wait_ready("big1")
    hub.wait_ready("big2")
    assert sorted(a["start"] for a in hub.allocations()) == [0, 4]
    assert hub.inventory()["free"].get("1g.10gb") == 0
