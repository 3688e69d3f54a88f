"""Lab-session reservations through a real hub, proxy and courses service, on one
simulated H100 (docs/courses.md, "Reserving slices for a lab session"): an instructor
reserves 4 x 1g.10gb for a window starting seconds from now; an overlapping reservation
that cannot fit is refused with what the window can hold; inside the window an outsider
is queued while the course's students get the reserved slices; the unclaimed one returns
after the grace period and the queued outsider starts; nothing is double-booked."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from spawners.ledger.ledger import Ledger
from spawners.ledger.reservation_book import Reservations
from tests.support.hub import Hub, wait_for

pytestmark = pytest.mark.integration

GRACE_S = 60

SITE = f"""
site: {{name: Test hub}}
hub:
  start_timeout: 180
  http_timeout: 90
  queue: {{enabled: true, expire_after: 600, check_every: 1}}
gpus:
  source: simulated
  simulated_count: 1
courses:
  reservations: {{grace: {GRACE_S}s}}
teams:
  alpha:
    kind: startup
    groups: [alpha]
  ml101:
    kind: course
    groups: [ml101-students]
    instructors: {{groups: [ml101-instructors]}}
  cs2:
    kind: course
    groups: [cs2-students]
"""

API = "/services/courses/api/courses"


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


def call(hub: Hub, token: str, method: str, path: str, **kw) -> requests.Response:
    headers = {"Authorization": f"token {token}", **kw.pop("headers", {})}
    return requests.request(method, hub.url + path, headers=headers, timeout=60, **kw)


def ledger_of(hub: Hub) -> Ledger:
    return Ledger(f"sqlite:///{hub.data / 'ledger.sqlite'}")


def held_by(hub: Hub) -> dict[str, str]:
    """user -> slice of every live allocation; and no memory slot claimed twice."""
    ledger = ledger_of(hub)
    try:
        live = ledger.live()
        claims = ledger.claimed_slots()
    finally:
        ledger.dispose()
    slots = [(gpu, slot) for gpu, slot, _ in claims]
    assert len(slots) == len(set(slots)) == sum(len(r.slots) for r in live)
    return {r.user: r.slice_name for r in live}


def test_a_lab_window_keeps_four_slices_for_the_course(tmp_path: Path) -> None:
    hub = Hub(tmp_path / "hub", site=tmp_path / "site.yaml")
    hub.site.write_text(SITE)
    try:
        hub.start()
        members = {
            "alpha": ["o1", "o2", "o3"],
            "ml101-students": ["s1", "s2", "s3"],
            "ml101-instructors": ["prof"],
        }
        for group, users in members.items():
            for u in users:
                hub.ensure_user(u)
            assert hub.post(f"/groups/{group}", json={"users": users}).status_code == 201
        prof, student, admin = (hub.user_token(u) for u in ("prof", "s1", "admin"))

        # Before the window: an outsider's 2g.20gb runs (and is never evicted).
        assert hub.spawn("o1", {"slice": "2g.20gb"}).status_code in (201, 202)
        start = time.time() + 8
        window = {"slice": "1g.10gb", "start": iso(start), "end": iso(start + 600)}
        r = call(hub, prof, "POST", f"{API}/ml101/reservations", json={**window, "count": 4})
        assert r.status_code == 201, r.text
        made = r.json()
        assert (made["count"], made["claimed"], made["state"]) == (4, 0, "ahead")
        # Only instructors of the course (and admins) reserve; bad input is a short 400.
        r = call(hub, student, "POST", f"{API}/ml101/reservations", json={**window, "count": 1})
        assert r.status_code == 403
        r = call(hub, prof, "POST", f"{API}/ml101/reservations", json={**window, "count": 0})
        assert r.status_code == 400 and "whole number" in r.json()["message"]
        # An overlapping reservation that cannot fit beside it is refused with what fits.
        r = call(hub, admin, "POST", f"{API}/cs2/reservations", json={**window, "count": 4})
        assert r.status_code == 409, r.text
        assert r.json()["message"] == (
            "This window can hold at most 3 x 1g.10gb beside the other reservations."
        )
        r = call(
            hub, admin, "POST", f"{API}/cs2/reservations",
            json={**window, "count": 4}, headers={"Accept-Language": "ko-KR"},
        )  # fmt: skip
        assert r.status_code == 409
        assert r.json()["message"] == (
            "이 시간대에는 다른 예약과 함께 최대 3 x 1g.10gb까지 둘 수 있습니다."
        )

        wait_for(lambda: time.time() >= start, 30, "the window's start")
        # 7 slots: the 2g.20gb holds 2, 4 are kept: one outsider fits, the next is queued.
        assert hub.spawn("o2", {"slice": "1g.10gb"}).status_code in (201, 202)
        answers: dict[str, int] = {}
        queued = threading.Thread(
            target=lambda: answers.setdefault(
                "o3", hub.spawn("o3", {"slice": "1g.10gb"}).status_code
            )
        )
        queued.start()

        def o3_waits() -> bool:
            ledger = ledger_of(hub)
            try:
                return [e.user for e in ledger.queue()] == ["o3"]
            finally:
                ledger.dispose()

        wait_for(o3_waits, 30, "o3 to wait in the queue")
        # The course's students get the reserved slices, queue or no queue.
        for s in ("s1", "s2", "s3"):
            assert hub.spawn(s, {"slice": "1g.10gb"}).status_code in (201, 202)
        for u in ("o1", "o2", "s1", "s2", "s3"):
            hub.wait_ready(u, timeout=180)
        held = held_by(hub)
        assert "o3" not in held
        assert held == {"o1": "2g.20gb", "o2": "1g.10gb", "s1": "1g.10gb", "s2": "1g.10gb",
                        "s3": "1g.10gb"}  # fmt: skip
        listing = call(hub, prof, "GET", f"{API}/ml101/reservations").json()["reservations"]
        assert [(x["claimed"], x["state"]) for x in listing] == [(3, "keeping")]
        ledger = ledger_of(hub)
        try:
            assert Reservations(ledger).get(made["id"]).claimed == 3
            actions = [e["action"] for e in ledger.audit_log(500)]
        finally:
            ledger.dispose()
        # Every member sees the course's reservations: the courses service's api/me, and
        # through their own server, what JupyterLab's Course labs panel shows.
        mine = call(hub, student, "GET", "/services/courses/api/me").json()["courses"]
        assert [(c["name"], [x["claimed"] for x in c["reservations"]]) for c in mine] == [
            ("ml101", [3])
        ]
        panel = call(hub, student, "GET", "/user/s1/api/sandbox/courses")
        assert panel.status_code == 200, panel.text
        assert [x["count"] for x in panel.json()["courses"][0]["reservations"]] == [4]
        page = hub.get("/services/slices/", api=False)
        assert page.status_code == 200
        assert '<section id="reservations">' in page.text
        assert "<td>ml101</td><td>4 x 1g.10gb</td>" in page.text and "<td>3 / 4</td>" in page.text
        assert actions.count("reservation-make") == 1
        assert actions.count("reservation-claim") == 3
        assert o3_waits() and time.time() < start + GRACE_S, "too slow to see the grace hold"

        # After the grace the unclaimed slice returns to everyone: the queued outsider starts.
        hub.wait_ready("o3", timeout=GRACE_S + 120)
        assert time.time() >= start + GRACE_S
        queued.join(timeout=120)
        assert held_by(hub)["o3"] == "1g.10gb"
        # Cancelled by the instructor: gone from the listing, audited.
        assert (
            call(hub, prof, "DELETE", f"{API}/ml101/reservations/{made['id']}").status_code == 204
        )
        assert call(hub, prof, "GET", f"{API}/ml101/reservations").json()["reservations"] == []
    finally:
        hub.stop()
