"""Warnings, then stops, for running servers: session length and budgets (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from spawners.core.policy import NoticeKind, notices

from .conftest import MARCH_10, teams_from_yaml

TEAMS = teams_from_yaml(
    """
lab:
  kind: course
  groups: [lab]
  policy:
    max_session: 2h
    warn_before: 10m
    gpu_hours: {per_member: 1.0, per_team: 1.5}
  instructors:
    groups: [lab-staff]
    policy: {max_session: 8h, gpu_hours: {per_member: null}}
free:
  kind: staff
  groups: [free]
  policy: {max_session: null}
"""
)


@dataclass(frozen=True)
class Live:
    id: int
    user: str
    slice_name: str = "1g.10gb"
    weight: float = 1 / 7
    activated_at: float | None = MARCH_10
    released_at: float | None = None
    server_name: str = ""
    state: str = "active"
    team: str | None = "lab"


def members(*instructors: str):
    def of(record):
        groups = {"lab-staff"} if record.user in instructors else {"lab"}
        return TEAMS.membership_in(record.team, groups if record.team == "lab" else {"free"})

    return of


def kinds(found) -> list[tuple[int, str, bool]]:
    return sorted((n.allocation_id, n.kind.value, n.due) for n in found)


def test_no_notice_early_in_a_session() -> None:
    assert notices([Live(1, "alice")], MARCH_10 + 3600, members()) == []


def test_session_warned_ten_minutes_ahead_then_due() -> None:
    records = [Live(1, "alice", slice_name="cpu", weight=0.0)]
    [warn] = notices(records, MARCH_10 + 2 * 3600 - 599, members())
    assert (warn.kind, warn.due) == (NoticeKind.SESSION_LIMIT, False)
    assert warn.deadline == MARCH_10 + 2 * 3600
    assert "stopped at 2025-03-10 02:00 UTC: sessions of team lab last at most 2h" in warn.message
    [due] = notices(records, MARCH_10 + 2 * 3600, members())
    assert due.due is True


def test_instructor_session_follows_the_instructor_policy() -> None:
    records = [Live(1, "ivan", slice_name="cpu", weight=0.0)]
    assert notices(records, MARCH_10 + 2 * 3600, members("ivan")) == []
    [due] = notices(records, MARCH_10 + 8 * 3600, members("ivan"))
    assert due.kind is NoticeKind.SESSION_LIMIT and due.due


def test_member_budget_projects_when_it_runs_out() -> None:
    # 3g.40gb burns 0.5 GPU-hour per hour: alice's 1.0 runs out after 2 h, at the session
    # limit too; bob's 1g.10gb at 1/7 per hour lasts 7 h (the session ends first).
    alice = Live(1, "alice", slice_name="3g.40gb", weight=0.5)
    found = notices([alice], MARCH_10 + 2 * 3600 - 300, members())
    assert kinds(found) == [(1, "member-budget", False), (1, "session-limit", False)]
    budget = next(n for n in found if n.kind is NoticeKind.MEMBER_BUDGET)
    assert budget.deadline == pytest.approx(MARCH_10 + 2 * 3600)
    assert "Your GPU-hours run out at 2025-03-10 02:00 UTC (0.04 of 1.00 left this month)" in (
        budget.message
    )


def test_team_budget_shared_by_running_members() -> None:
    # Two 3g.40gb members together burn 1.0 per hour: the team's 1.5 lasts 1.5 h.
    records = [
        Live(1, "alice", slice_name="3g.40gb", weight=0.5),
        Live(2, "bob", slice_name="3g.40gb", weight=0.5),
    ]
    found = notices(records, MARCH_10 + 1.5 * 3600, members())
    team = [n for n in found if n.kind is NoticeKind.TEAM_BUDGET]
    assert [(n.user, n.due) for n in team] == [("alice", True), ("bob", True)]
    assert "Team lab's GPU-hours run out" in team[0].message


def test_released_usage_counts_and_cpu_is_never_stopped_for_budget() -> None:
    spent = Live(1, "alice", slice_name="7g.80gb", weight=1.0, released_at=MARCH_10 + 3600)
    cpu = Live(2, "alice", slice_name="cpu", weight=0.0, activated_at=MARCH_10 + 3600)
    gpu = Live(3, "alice", activated_at=MARCH_10 + 3600, server_name="gpu")
    found = notices([spent, cpu, gpu], MARCH_10 + 3601, members())
    assert kinds(found) == [(3, "member-budget", True)]


def test_no_team_no_notice() -> None:
    records = [Live(1, "zoe", team="free", slice_name="gpu", weight=1.0)]
    assert notices(records, MARCH_10 + 100 * 3600, members()) == []
    assert notices([Live(2, "x", team=None)], MARCH_10 + 99 * 3600, lambda r: None) == []
