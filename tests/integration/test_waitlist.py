"""The waitlist through a real hub and proxy (docs/configuration.md, "When the GPUs are
full"): a full simulated GPU, five users of two teams queued; their places and estimates
in the progress stream; stopping servers starts them in fair order; a SIGKILLed hub's
queue survives its restart and drains; a user leaves the queue; an entry expires with its
message; the ledger never holds a slot twice nor keeps one for nobody."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
import requests

from spawners.ledger.ledger import Ledger
from spawners.ledger.schema import EXPIRED, LEFT, STARTED, WAITING
from tests.support.hub import Hub, wait_for

pytestmark = pytest.mark.integration

SHORT_EXPIRE_S = 8
"""The expiry of entries queued after the restart: short, to be waited out."""


def site_text(expire_after: int | str) -> str:
    return f"""
site: {{name: Test hub}}
hub:
  start_timeout: 120
  http_timeout: 90
  queue: {{enabled: true, expire_after: {expire_after}, check_every: 1}}
gpus:
  source: simulated
  simulated_count: 1
teams:
  alpha:
    kind: startup
    groups: [alpha]
    policy: {{max_slice: 4g.40gb, max_session: 10m, warn_before: 1m}}
  beta:
    kind: startup
    groups: [beta]
    policy: {{max_slice: 4g.40gb, max_session: 10m, warn_before: 1m}}
"""


PLACE = re.compile(r"queue position (\d+) of (\d+), about (\d+) min")
PLACE_KO = re.compile(r"대기열 (\d+)명 중 (\d+)번째, 약 (\d+)분")
KOREAN_USER = "b2"
"""Starts with a Korean browser: its messages are the catalogue's Korean."""


def place_of(message: str) -> tuple[int, int, int] | None:
    """(place, total, minutes) from a progress message in English or Korean."""
    if m := PLACE.search(message):
        assert "(an estimate from the running sessions)" in message
        return int(m[1]), int(m[2]), int(m[3])
    if m := PLACE_KO.search(message):
        assert "(실행 중인 세션으로 추정한 값)" in message
        return int(m[2]), int(m[1]), int(m[3])
    return None


def ledger_of(hub: Hub) -> Ledger:
    return Ledger(f"sqlite:///{hub.data / 'ledger.sqlite'}")


def check_ledger(hub: Hub, holders: set[str]) -> list[str]:
    """Nothing double-booked, nothing leaked: the live allocations are exactly the
    servers that hold a slice, their slots distinct; returns the users queued."""
    ledger = ledger_of(hub)
    try:
        live = ledger.live()
        claims = ledger.claimed_slots()
        queued = [e.user for e in ledger.queue()]
    finally:
        ledger.dispose()
    assert sorted(r.user for r in live) == sorted(holders)
    slots = [(gpu, slot) for gpu, slot, _ in claims]
    assert len(slots) == len(set(slots)) == sum(len(r.slots) for r in live)
    assert not set(queued) & holders
    return queued


def queue_entries(hub: Hub) -> list[tuple[int, str, str]]:
    ledger = ledger_of(hub)
    try:
        return [(e.id, e.user, e.state) for e in ledger.queue()]
    finally:
        ledger.dispose()


def entry_state(hub: Hub, user: str) -> str:
    ledger = ledger_of(hub)
    try:
        with ledger.engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT state FROM sandbox_queue WHERE user = ? ORDER BY id DESC LIMIT 1", (user,)
            ).first()
        return row[0]
    finally:
        ledger.dispose()


def progress_events(hub: Hub, user: str, until, timeout: float = 120) -> dict:
    """Read ``user``'s progress stream until an event satisfies ``until``; return it."""
    with requests.get(
        f"{hub.url}/hub/api/users/{user}/server/progress",
        headers={"Authorization": f"token {hub.token}"},
        stream=True,
        timeout=(5, timeout),
    ) as r:
        r.raise_for_status()
        for line in r.iter_lines(decode_unicode=True):
            if line and line.startswith("data:"):
                event = json.loads(line[5:])
                if until(event):
                    return event
    raise AssertionError(f"{user}'s progress stream ended without the event")


def shows_place(place: int, total: int):
    """A progress-event predicate: the message states this place in a queue of total."""

    def shown(event: dict) -> bool:
        found = place_of(event.get("message", ""))
        return found is not None and found[:2] == (place, total)

    return shown


def final_place(hub: Hub, user: str, total: int) -> tuple[int, int]:
    """The user's place and estimate in minutes, once the queue holds ``total``."""
    event = progress_events(
        hub, user, lambda e: (p := place_of(e.get("message", ""))) is not None and p[1] == total
    )
    place, _, minutes = place_of(event["message"])
    return place, minutes


def queue_in_background(hub: Hub, user: str, answers: dict) -> threading.Thread:
    """POST the start (answered after JupyterHub's slow_spawn_timeout) in a thread."""

    language = {"Accept-Language": "ko-KR,ko;q=0.9"} if user == KOREAN_USER else {}

    def post() -> None:
        r = hub.post(f"/users/{user}/server", json={"slice": "1g.10gb"}, headers=language)
        answers[user] = r.status_code

    thread = threading.Thread(target=post)
    thread.start()
    return thread


def test_a_full_gpu_queues_fairly_survives_a_restart_and_expires(tmp_path: Path) -> None:
    hub = Hub(tmp_path / "hub", site=(tmp_path / "site.yaml"))
    hub.site.write_text(site_text("10m"))
    try:
        hub.start()
        teams = {"alpha": ["ha", "a1", "a2", "a3"], "beta": ["hb1", "hb2", "hb3", "b1", "b2", "b3"]}
        for team, users in teams.items():
            for u in users:
                hub.ensure_user(u)
            assert hub.post(f"/groups/{team}", json={"users": users}).status_code == 201

        # Fill the GPU: alpha holds 4/7 (a 4g.40gb), beta 3/7 (three 1g.10gb).
        assert hub.spawn("ha", {"slice": "4g.40gb"}).status_code in (201, 202)
        for u in ("hb1", "hb2", "hb3"):
            assert hub.spawn(u, {"slice": "1g.10gb"}).status_code in (201, 202)
        for u in ("ha", "hb1", "hb2", "hb3"):
            hub.wait_ready(u)
        holders = {"ha", "hb1", "hb2", "hb3"}
        assert hub.inventory()["free"].get("1g.10gb") == 0
        check_ledger(hub, holders)

        # Five queue, in this order of arrival.
        arrival = ["a1", "a2", "b1", "a3", "b2"]
        answers: dict[str, int] = {}
        threads = []
        for i, u in enumerate(arrival):
            threads.append(queue_in_background(hub, u, answers))
            wait_for(lambda n=i + 1: len(queue_entries(hub)) == n, 60, f"{u} to be queued")
        assert [e[1] for e in queue_entries(hub)] == arrival
        for t in threads:
            t.join()
        assert answers == dict.fromkeys(arrival, 202)  # pending, not refused

        # Fair order: beta holds less, so its entries go first while its share is below
        # alpha's; within a team, first come first served.
        fair = ["b1", "a1", "b2", "a2", "a3"]
        places = {u: final_place(hub, u, 5) for u in arrival}
        korean = progress_events(hub, KOREAN_USER, shows_place(places[KOREAN_USER][0], 5))
        assert PLACE_KO.search(korean["message"]), korean
        assert [places[u][0] for u in fair] == [1, 2, 3, 4, 5]
        estimates = [places[u][1] for u in fair]
        assert estimates == sorted(estimates) and 1 <= estimates[0] <= 10
        assert sorted(check_ledger(hub, holders)) == sorted(arrival)

        # The capacity page shows the queue: its API in the same order, for admins only.
        listed = hub.get("/services/slices/api/queue", api=False)
        assert listed.status_code == 200, listed.text
        assert [(e["position"], e["user"]) for e in listed.json()["queue"]] == list(
            enumerate(fair, start=1)
        )
        assert all(0 < e["expires_in_s"] <= 600 for e in listed.json()["queue"])
        user_token = hub.user_token("a1")
        refused = requests.get(
            f"{hub.url}/services/slices/api/queue",
            headers={"Authorization": f"token {user_token}"},
            timeout=30,
        )
        assert refused.status_code == 403
        page = hub.get("/services/slices/", api=False)
        assert page.status_code == 200 and 'id="queue-section"' in page.text

        # A slice frees: the first in fair order starts, the others move up.
        hub.stop_server("hb1")
        holders = holders - {"hb1"} | {"b1"}
        hub.wait_ready("b1")
        assert check_ledger(hub, holders) == ["a1", "a2", "a3", "b2"]
        # b1 took hb1's place, so beta still holds less: b2, which came last, is next.
        for user, place in (("b2", 1), ("a1", 2), ("a2", 3), ("a3", 4)):
            progress_events(hub, user, shows_place(place, 4))

        # SIGKILL the hub with four queued; the restarted hub keeps them, in order, each
        # with its own expiry: the new site file's shorter one counts for new entries only.
        before = queue_entries(hub)
        hub.kill_hub_only()
        hub.site.write_text(site_text(SHORT_EXPIRE_S))
        hub.start()
        wait_for(
            lambda: all(hub.server(u) is not None for u in ("a1", "a2", "a3", "b2")),
            60,
            "the queued starts to be resumed",
        )
        assert queue_entries(hub) == before
        check_ledger(hub, holders)

        # Beta holds 3/7 against alpha's 4/7: b2 goes before a1, which came first.
        hub.stop_server("hb2")
        holders = holders - {"hb2"} | {"b2"}
        hub.wait_ready("b2")
        assert check_ledger(hub, holders) == ["a1", "a2", "a3"]
        hub.stop_server("hb3")
        holders = holders - {"hb3"} | {"a1"}
        hub.wait_ready("a1")
        assert check_ledger(hub, holders) == ["a2", "a3"]

        # a2 leaves the queue by stopping its start.
        hub.stop_server("a2")
        assert entry_state(hub, "a2") == LEFT
        assert check_ledger(hub, holders) == ["a3"]

        # b3 queues now, under the short expiry, waits it out and is told why.
        answer = hub.spawn("b3", {"slice": "1g.10gb"})
        if answer.status_code == 202:  # answered pending: the failure is in the stream
            failed = progress_events(hub, "b3", lambda e: e.get("failed"))
            assert 'data-code="queue-expired"' in failed.get("html_message", "")
            message = failed["message"]
        else:  # it expired before JupyterHub's slow_spawn_timeout: the answer says so
            assert answer.status_code == 409 and answer.json()["code"] == "queue-expired"
            message = answer.json()["message"]
        assert f"No 1g.10gb slice became free within {SHORT_EXPIRE_S} s" in message
        wait_for(lambda: hub.server("b3") is None, 30, "b3's start to end")
        assert entry_state(hub, "b3") == EXPIRED

        # a3 kept its long expiry over the restart and starts when alpha's 4g.40gb ends.
        assert entry_state(hub, "a3") == WAITING
        hub.stop_server("ha")
        holders = holders - {"ha"} | {"a3"}
        hub.wait_ready("a3")
        assert check_ledger(hub, holders) == []
        for u in ("b1", "b2", "a1", "a3"):
            assert entry_state(hub, u) == STARTED
    finally:
        hub.stop()
        hub.remove_homes()
