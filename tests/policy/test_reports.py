"""What users and admins read: api/me, usage JSON/CSV, Prometheus metrics, the spawn
form, and the policy audit recorded at start-up."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from extensions.slices_service.accounting import (
    RangeError,
    me_view,
    parse_range,
    teams_view,
    usage_csv,
    usage_report,
)
from extensions.slices_service.metrics import render_metrics
from hub_config.site import load_site
from hub_config.wiring import record_policy
from spawners.core.policy import budget_status
from spawners.core.usage import usage_rows
from spawners.form import render_form
from spawners.inventory.simulated import simulated_inventory
from spawners.ledger.ledger import Ledger

from .conftest import MARCH_10, FakeClock, teams_from_yaml

HOUR = 3600.0
TEAMS = teams_from_yaml(
    """
alpha:
  kind: startup
  groups: [alpha]
  policy: {max_slices_per_team: 2, gpu_hours: {per_team: 2.0}}
ml101:
  kind: course
  groups: [ml101]
  policy: {gpu_hours: {per_member: 0.5}}
  instructors: {groups: [ml101-staff]}
"""
)


@pytest.fixture
def world(tmp_path: Path):
    """alice (alpha) ran a 3g.40gb for 1 h and still runs a 1g.10gb; sam (ml101) ran a
    2g.20gb for 1 h; carl (no team) a cpu server."""
    clock = FakeClock(MARCH_10)
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}", clock=clock)
    ledger.create_schema()

    def run(user: str, team: str | None, slice_name: str, server: str = ""):
        r = ledger.reserve(
            user=user,
            server_name=server,
            image="base",
            slice_name=slice_name,
            inventory=simulated_inventory(1),
            epoch="e",
            team=team,
        )
        return ledger.activate(r.id)

    a = run("alice", "alpha", "3g.40gb")
    s = run("sam", "ml101", "2g.20gb")
    run("carl", None, "cpu")
    clock.advance(HOUR)
    ledger.release(a.id, "stopped")
    ledger.release(s.id, "stopped")
    run("alice", "alpha", "1g.10gb", server="small")
    clock.advance(HOUR)
    yield ledger, clock
    ledger.dispose()


def test_me_shows_own_and_team_usage_budget_and_servers(world) -> None:
    ledger, clock = world
    records = ledger.overlapping(TEAMS.earliest_period_start(clock()), clock())
    me = me_view("alice", frozenset({"alpha"}), TEAMS, records, clock())
    assert (me["team"], me["kind"], me["role"]) == ("alpha", "startup", "member")
    assert [s["slice"] for s in me["servers"]] == ["1g.10gb"]
    used = 0.5 + 1 / 7
    assert me["budget"]["team"]["used"] == pytest.approx(used)
    assert me["budget"]["left"] == pytest.approx(2.0 - used)
    assert me["team_usage"]["gpu_hours"] == pytest.approx(used, abs=1e-6)
    assert "by_user" not in me["team_usage"]  # members see their team's total only
    assert me["policy"]["max_slices_per_team"] == 2
    assert me["notices"] == []


def test_instructor_sees_per_member_usage_and_outsiders_see_their_own(world) -> None:
    ledger, clock = world
    records = ledger.overlapping(0, clock())
    me = me_view("ivy", frozenset({"ml101-staff"}), TEAMS, records, clock())
    assert me["role"] == "instructor"
    assert me["team_usage"]["by_user"] == {"sam": round(2 / 7, 6)}
    outsider = me_view("carl", frozenset(), TEAMS, records, clock())
    assert outsider["team"] is None and "budget" not in outsider
    assert [u["slice"] for u in outsider["usage"]] == ["cpu"]


def test_member_over_budget_sees_a_due_notice(world) -> None:
    ledger, clock = world
    # sam used 2/7 of 0.5; a 3g.40gb now burns the rest in (0.5 - 2/7) / 0.5 h.
    r = ledger.reserve(
        user="sam",
        server_name="",
        image="base",
        slice_name="3g.40gb",
        inventory=simulated_inventory(1),
        epoch="e",
        team="ml101",
    )
    ledger.activate(r.id)
    clock.advance(HOUR)
    me = me_view("sam", frozenset({"ml101"}), TEAMS, ledger.overlapping(0, clock()), clock())
    [notice] = [n for n in me["notices"] if n["kind"] == "member-budget"]
    assert notice["due"] is True and me["budget"]["left"] < 0


def test_usage_json_and_csv_agree(world) -> None:
    ledger, clock = world
    since, until = parse_range({"month": "2025-03"}, clock())
    report = usage_report(ledger.overlapping(since, until), since, until, clock())
    assert report["by_team"] == {"": 0.0, "alpha": round(0.5 + 1 / 7, 6), "ml101": round(2 / 7, 6)}
    assert report["by_user"]["alice"] == round(0.5 + 1 / 7, 6)
    assert report["charged_until"] == clock()
    rows = list(
        csv.DictReader(
            io.StringIO(usage_csv(usage_rows(ledger.overlapping(since, until), since, clock())))
        )
    )
    assert [(r["team"], r["user"], r["slice"]) for r in rows] == [
        ("", "carl", "cpu"),
        ("alpha", "alice", "1g.10gb"),
        ("alpha", "alice", "3g.40gb"),
        ("ml101", "sam", "2g.20gb"),
    ]
    assert sum(float(r["gpu_hours"]) for r in rows) == pytest.approx(0.5 + 1 / 7 + 2 / 7)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, (MARCH_10 - 9 * 86400, MARCH_10 + 22 * 86400)),
        ({"month": "2025-02"}, (MARCH_10 - 37 * 86400, MARCH_10 - 9 * 86400)),
        ({"since": "2025-03-10", "until": "2025-03-10T12:00:00Z"}, (MARCH_10, MARCH_10 + 43200)),
        (
            {"since": str(int(MARCH_10)), "until": str(int(MARCH_10 + 60))},
            (MARCH_10, MARCH_10 + 60),
        ),
    ],
)
def test_usage_periods(args, expected) -> None:
    assert parse_range(args, MARCH_10) == expected


@pytest.mark.parametrize(
    "args",
    [{"month": "2025-13"}, {"since": "yesterday"}, {"since": "2025-03-10", "until": "2025-03-01"}],
)
def test_bad_periods_are_refused_safely(args) -> None:
    with pytest.raises(RangeError):
        parse_range(args, MARCH_10)


def test_teams_view_for_admins(world) -> None:
    ledger, clock = world
    [alpha, ml101] = teams_view(TEAMS, ledger.overlapping(0, clock()), clock())
    assert alpha["gpu_hours_left"] == pytest.approx(2.0 - 0.5 - 1 / 7, abs=1e-6)
    assert [s["slice"] for s in alpha["live"]] == ["1g.10gb"]
    assert ml101["instructor_groups"] == ["ml101-staff"]


def test_prometheus_metrics_by_team_and_slice(world) -> None:
    ledger, clock = world
    text = render_metrics(
        TEAMS, simulated_inventory(1), ledger.overlapping(0, clock()), clock()
    ).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[
        ("sandbox_gpu_hours_total", (("slice", "3g.40gb"), ("team", "alpha")))
    ] == pytest.approx(0.5)
    assert samples[("sandbox_slices_in_use", (("slice", "1g.10gb"), ("team", "alpha")))] == 1
    assert samples[("sandbox_slices_free", (("slice", "1g.10gb"),))] == 6
    assert samples[("sandbox_team_gpu_hours_budget", (("period", "month"), ("team", "alpha")))] == 2
    assert samples[
        ("sandbox_team_gpu_hours_used", (("period", "month"), ("team", "ml101")))
    ] == pytest.approx(2 / 7)


def test_form_shows_only_allowed_choices_with_free_counts_and_budget(world) -> None:
    ledger, clock = world
    membership = TEAMS.membership({"alpha"})
    budget = budget_status(membership, "alice", ledger.overlapping(0, clock()), clock())
    choices = membership.policy.choices(
        ("cpu", "1g.10gb", "3g.40gb"), ("base", "vision"), "base", "cpu"
    )
    html = render_form(
        choices, {"1g.10gb": 6, "3g.40gb": 0}, {}, "Hub", membership=membership, budget=budget
    )
    assert "Team <strong>alpha</strong> (startup), role member." in html
    assert 'data-slice="1g.10gb">(6 free)' in html
    assert 'value="3g.40gb" disabled' in html  # none free
    assert "medical" not in html and 'value="base"' in html
    assert f'data-left="{2.0 - 0.5 - 1 / 7:.2f}"' in html
    assert "for the whole team" in html


def test_policy_audit_records_hash_and_diff_only_on_change(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.create_schema()
    path = tmp_path / "site.yaml"
    path.write_text("site: {name: t}\nteams: {alpha: {kind: startup, groups: [a]}}\n")
    first = record_policy(ledger, load_site(path, env={}))
    assert first is not None and first["action"] == "policy" and "site file" in first["actor"]
    assert record_policy(ledger, load_site(path, env={})) is None  # unchanged: nothing new
    path.write_text(
        "site: {name: t}\nteams: {alpha: {kind: startup, groups: [a], "
        "policy: {max_slices_per_team: 4}}}\n"
    )
    second = record_policy(ledger, load_site(path, env={}))
    detail = json.loads(second["detail"])
    assert detail["previous"] == json.loads(first["detail"])["sha256"] != detail["sha256"]
    assert any(line.startswith("+") and "max_slices_per_team: 4" in line for line in detail["diff"])
    ledger.dispose()
