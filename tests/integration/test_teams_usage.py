"""GPU-hour accounting on a real hub, across a hub restart (SIGKILL, the server keeps
running): the charges the usage API reports lie within what the test itself measured
around each start and stop, JSON, CSV and Prometheus agree, and who may read what."""

from __future__ import annotations

import csv
import io
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.hub import Hub
from tests.support.oidc import oidc_login, teams_hub

pytestmark = pytest.mark.integration

TEAMS = """
  startup-alpha:
    kind: startup
    groups: [startup-alpha]
    policy: {max_slices_per_member: 2, gpu_hours: {per_team: 10}}
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    users = {"alice": ["startup-alpha"]}
    with teams_hub(tmp_path_factory.mktemp("usage"), TEAMS, users) as (hub, provider):
        assert oidc_login(hub.url, provider.issuer, "alice")[1].status_code == 200
        yield hub


def start(hub: Hub, slice_name: str, server: str = "") -> tuple[float, float]:
    """(just before the request, once ready): the activation lies in between."""
    before = time.time()
    path = f"/users/alice/servers/{server}" if server else "/users/alice/server"
    r = hub.post(path, json={"image": "base", "slice": slice_name})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("alice", server)
    return before, time.time()


def stop(hub: Hub, server: str = "") -> tuple[float, float]:
    before = time.time()
    hub.stop_server("alice", server)
    return before, time.time()


def test_usage_is_exact_across_a_restart_and_reported_three_ways(hub: Hub) -> None:
    small_on = start(hub, "1g.10gb")
    big_on = start(hub, "3g.40gb", server="big")
    big_off = stop(hub, "big")

    hub.kill_hub_only()  # the default server keeps running through the restart
    hub.start()
    assert [a["slice"] for a in hub.allocations()] == ["1g.10gb"]
    small_off = stop(hub)

    since, until = int(small_on[0]) - 1, int(small_off[1]) + 2
    r = hub.get(f"/services/slices/api/usage?since={since}&until={until}", api=False)
    assert r.status_code == 200, r.text
    report = r.json()
    rows = {(row["user"], row["slice"]): row for row in report["rows"]}
    small, big = rows[("alice", "1g.10gb")], rows[("alice", "3g.40gb")]
    assert small["team"] == big["team"] == "startup-alpha"

    def within(row, weight, on, off):
        shortest = (off[0] - on[1]) * weight / 3600  # started late, stopped early
        longest = (off[1] - on[0]) * weight / 3600
        assert shortest - 1e-6 <= row["gpu_hours"] <= longest + 1e-6, (row, shortest, longest)
        assert row["gpu_hours"] == pytest.approx(row["seconds"] * weight / 3600, abs=2e-6)

    within(small, 1 / 7, small_on, small_off)
    within(big, 1 / 2, big_on, big_off)
    assert small["seconds"] > big["seconds"], "the 1g.10gb ran through the restart"
    total = small["gpu_hours"] + big["gpu_hours"]
    assert report["by_team"]["startup-alpha"] == pytest.approx(total, abs=2e-6)

    # The same figures as CSV ...
    r = hub.get(f"/services/slices/api/usage.csv?since={since}&until={until}", api=False)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    csv_rows = {(x["user"], x["slice"]): x for x in csv.DictReader(io.StringIO(r.text))}
    assert float(csv_rows[("alice", "1g.10gb")]["gpu_hours"]) == pytest.approx(
        small["gpu_hours"], abs=1e-6
    )
    # ... and as Prometheus counters, labelled by team and slice.
    r = hub.get("/services/slices/metrics", api=False)
    assert r.status_code == 200, r.text
    counters = {
        (s.labels["team"], s.labels["slice"]): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
        if s.name == "sandbox_gpu_hours_total"
    }
    assert counters[("startup-alpha", "1g.10gb")] == pytest.approx(small["gpu_hours"], abs=1e-6)
    assert counters[("startup-alpha", "3g.40gb")] == pytest.approx(big["gpu_hours"], abs=1e-6)


def test_users_see_their_own_usage_and_admins_everyone(hub: Hub) -> None:
    token = hub.user_token("alice")
    headers = {"Authorization": f"token {token}"}
    me = requests.get(f"{hub.url}/services/slices/api/me", headers=headers, timeout=30)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["team"] == "startup-alpha"
    assert {u["slice"] for u in body["usage"]} == {"1g.10gb", "3g.40gb"}
    assert body["budget"]["team"]["limit"] == 10
    assert 0 < body["budget"]["team"]["used"] < 0.1
    for path in ("api/usage", "api/usage.csv", "api/teams", "api/audit", "metrics"):
        r = requests.get(f"{hub.url}/services/slices/{path}", headers=headers, timeout=30)
        assert r.status_code == 403, (path, r.status_code)
    r = hub.get("/services/slices/api/usage?since=tomorrow", api=False)
    assert r.status_code == 400 and "not a date" in r.json()["message"]


def test_policy_recorded_once_across_the_restart(hub: Hub) -> None:
    audit = hub.get("/services/slices/api/audit?limit=1000", api=False).json()["audit"]
    assert [e["action"] for e in audit].count("policy") == 1
