"""Team policy enforced by the server through the REST API, bypassing the form: images
and slices the team does not allow (400), concurrent limits per member and per team
(403, race-free under concurrent spawns), an exhausted GPU-hour budget (403), a user in
no team (403); allowed requests still work. Users log in through a real IdP first, so
their hub groups are the IdP's."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.hub import Hub, wait_for
from tests.support.oidc import oidc_login, teams_hub

pytestmark = pytest.mark.integration

TEAMS = """
  startup-alpha:
    kind: startup
    groups: [startup-alpha]
    policy:
      images: [base, vision]
      slices: [cpu, 1g.10gb, 2g.20gb]
      max_slices_per_member: 1
      max_slices_per_team: 2
      gpu_hours: {per_team: 5}
  course-ml101:
    kind: course
    groups: [course-ml101]
    policy:
      max_slice: 1g.20gb
      max_slices_per_member: 1
      gpu_hours: {per_member: 0.0003}
    instructors:
      groups: [course-ml101-instructors]
      policy: {max_slice: 3g.40gb, gpu_hours: {per_member: null}}
"""

ALPHA = ["alice", "bob", "carol", "dave", "eve", "frank"]
USERS = {
    **{u: ["startup-alpha"] for u in ALPHA},
    "sam": ["course-ml101"],
    "ivan": ["course-ml101-instructors"],
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with teams_hub(tmp_path_factory.mktemp("policy"), TEAMS, USERS) as (hub, provider):
        for user in USERS:
            _, r = oidc_login(hub.url, provider.issuer, user)
            assert r.status_code == 200, (user, r.status_code)
        yield hub


def spawn(hub: Hub, user: str, options: dict, server: str = ""):
    path = f"/users/{user}/servers/{server}" if server else f"/users/{user}/server"
    return hub.post(path, json=options)


def stop_all(hub: Hub) -> None:
    for user in USERS:
        for name in list(hub.user(user)["servers"]):
            hub.stop_server(user, name)
    wait_for(lambda: hub.allocations() == [], 60, "every slice to be released")


def message(r) -> str:
    return r.json()["message"]


def test_image_the_team_does_not_allow_is_400(hub: Hub) -> None:
    r = spawn(hub, "alice", {"image": "medical", "slice": "1g.10gb"})
    assert r.status_code == 400, r.text
    assert "The image 'medical' is not available to you" in message(r)
    assert "base, vision" in message(r)
    assert hub.allocations() == []


def test_slice_the_team_does_not_allow_is_400(hub: Hub) -> None:
    r = spawn(hub, "alice", {"image": "base", "slice": "3g.40gb"})
    assert r.status_code == 400, r.text
    assert "The slice '3g.40gb' is not available to you" in message(r)
    assert "cpu, 1g.10gb, 2g.20gb" in message(r)
    # max_slice: a course member may have 1g.20gb but nothing larger; the instructor more.
    r = spawn(hub, "sam", {"image": "base", "slice": "2g.20gb"})
    assert r.status_code == 400 and "not available to you" in message(r)
    assert hub.allocations() == []


def test_user_in_no_team_is_403(hub: Hub) -> None:
    hub.ensure_user("outsider")
    r = spawn(hub, "outsider", {"image": "base", "slice": "cpu"})
    assert r.status_code == 403, r.text
    assert "outsider is in no team of this hub" in message(r)


def test_concurrent_limits_per_member_and_per_team(hub: Hub) -> None:
    r = spawn(hub, "alice", {"image": "vision", "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("alice")
    [held] = hub.allocations()
    assert held["team"] == "startup-alpha" and held["slice"] == "1g.10gb"

    r = spawn(hub, "alice", {"image": "base", "slice": "1g.10gb"}, server="second")
    assert r.status_code == 403, r.text
    assert "at most 1 GPU slice(s) per member of team startup-alpha" in message(r)
    assert "0 left" in message(r)
    # A cpu server holds no GPU slice: the limits do not count it.
    r = spawn(hub, "alice", {"image": "base", "slice": "cpu"}, server="notes")
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("alice", "notes")

    r = spawn(hub, "bob", {"image": "base", "slice": "2g.20gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("bob")
    r = spawn(hub, "carol", {"image": "base", "slice": "1g.10gb"})
    assert r.status_code == 403, r.text
    assert "team startup-alpha may hold at most 2 GPU slice(s)" in message(r)
    assert "0 left" in message(r)
    assert hub.server("carol") is None
    stop_all(hub)


def test_concurrent_spawns_never_exceed_the_team_limit(hub: Hub) -> None:
    racers = ["carol", "dave", "eve", "frank"]
    with ThreadPoolExecutor(max_workers=len(racers)) as pool:
        responses = list(
            pool.map(lambda u: spawn(hub, u, {"image": "base", "slice": "1g.10gb"}), racers)
        )
    codes = sorted(r.status_code for r in responses)
    started = [u for u, r in zip(racers, responses, strict=True) if r.status_code in (201, 202)]
    assert len(started) == 2, codes
    assert codes.count(403) == 2, codes
    for r in responses:
        if r.status_code == 403:
            assert "team startup-alpha may hold at most 2" in message(r)
    for u in started:
        hub.wait_ready(u)
    assert sorted(a["user"] for a in hub.allocations()) == sorted(started)
    stop_all(hub)


def test_exhausted_budget_is_403_and_cpu_still_works(hub: Hub) -> None:
    # 0.0003 GPU-hours per member: a 1g.10gb (1/7) runs about 7.6 s, then the quota
    # service stops it; the next GPU request is refused with what is left.
    r = spawn(hub, "sam", {"image": "base", "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("sam")
    wait_for(lambda: hub.server("sam") is None, 90, "the quota service to stop sam's server")
    assert hub.allocations() == []

    r = spawn(hub, "sam", {"image": "base", "slice": "1g.10gb"})
    assert r.status_code == 403, r.text
    assert "GPU-hour budget used up" in message(r)
    assert "of your 0.0003 GPU-hours this month" in message(r) and "0 left" in message(r)

    r = spawn(hub, "sam", {"image": "base", "slice": "cpu"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("sam")
    stop_all(hub)


def test_instructor_may_pick_larger_slices(hub: Hub) -> None:
    r = spawn(hub, "ivan", {"image": "medical", "slice": "3g.40gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("ivan")
    [held] = hub.allocations()
    assert held["user"] == "ivan" and held["team"] == "course-ml101"
    env = hub.slice_from_inside("ivan")["environment"]
    assert env["SANDBOX_SLICE"] == "3g.40gb"
    stop_all(hub)


def test_audit_records_who_got_which_slice(hub: Hub) -> None:
    r = hub.get("/services/slices/api/audit?limit=500", api=False)
    assert r.status_code == 200, r.text
    audit = r.json()["audit"]
    activations = [e for e in audit if e["action"] == "activate"]
    assert any(e["subject"] == "ivan/" and "device MIG-" in e["detail"] for e in activations)
    [policy] = [e for e in audit if e["action"] == "policy"]
    assert "startup-alpha" in policy["detail"] and "sha256" in policy["detail"]
    stops = [e for e in audit if e["action"] == "quota-stop"]
    assert any(e["subject"] == "sam/" and "member-budget" in e["detail"] for e in stops)
