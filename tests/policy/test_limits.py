"""Concurrent-slice and budget limits, checked by the ledger inside its reservation
transaction (SQLite and PostgreSQL): the right refusal, what is left, and no way for
concurrent reservations to slip past a limit together."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from spawners.core.allocator import PlacementStrategy
from spawners.core.model import Inventory
from spawners.core.policy import Admission, LimitCode, LimitRefusal, Teams
from spawners.inventory.simulated import simulated_inventory
from spawners.ledger.ledger import Ledger
from spawners.ledger.records import AllocationRecord
from spawners.refusal_status import http_status

from .conftest import MARCH_10, FakeClock, teams_from_yaml

HOUR = 3600.0

TEAMS = """
alpha:
  kind: startup
  groups: [alpha]
  policy:
    max_slices_per_member: 1
    max_slices_per_team: 3
    gpu_hours: {per_team: 1.0, per_member: 0.5}
"""


@pytest.fixture
def teams() -> Teams:
    return teams_from_yaml(TEAMS)


def reserve(
    ledger: Ledger,
    teams: Teams,
    user: str,
    slice_name: str,
    server: str = "",
    inventory: Inventory | None = None,
):
    membership = teams.membership({"alpha"})
    return ledger.reserve(
        user=user,
        server_name=server,
        image="base",
        slice_name=slice_name,
        inventory=inventory or simulated_inventory(2),
        epoch="e",
        team="alpha",
        strategy=PlacementStrategy.FIRST_FIT,
        limits=Admission(user=user, slice_name=slice_name, membership=membership),
    )


def granted(decision) -> AllocationRecord:
    assert isinstance(decision, AllocationRecord), decision
    return decision


def refusal(decision, code: LimitCode) -> str:
    assert isinstance(decision, LimitRefusal), decision
    assert decision.code is code and http_status(decision.code) == 403
    return decision.message


def test_member_may_hold_one_gpu_slice_and_any_cpu_servers(ledger, teams) -> None:
    granted(reserve(ledger, teams, "alice", "1g.10gb"))
    message = refusal(reserve(ledger, teams, "alice", "2g.20gb", "b"), LimitCode.MEMBER_CONCURRENCY)
    assert "at most 1 GPU slice(s) per member of team alpha" in message
    assert "you hold 1 (default server: 1g.10gb); 0 left" in message
    granted(reserve(ledger, teams, "alice", "cpu", "notes"))
    granted(reserve(ledger, teams, "alice", "cpu", "more-notes"))


def test_team_may_hold_three(ledger, teams) -> None:
    for user in ("a", "b", "c"):
        granted(reserve(ledger, teams, user, "1g.10gb"))
    message = refusal(reserve(ledger, teams, "d", "1g.10gb"), LimitCode.TEAM_CONCURRENCY)
    assert "team alpha may hold at most 3 GPU slice(s) at a time and holds 3 now; 0 left" in message
    # A released slice makes room again.
    first = ledger.live()[0]
    ledger.release(first.id, "server stopped")
    granted(reserve(ledger, teams, "d", "1g.10gb"))


def test_member_budget_runs_out_then_resets_next_month(
    ledger: Ledger, teams: Teams, clock: FakeClock
) -> None:
    r = granted(reserve(ledger, teams, "alice", "3g.40gb"))  # 1/2 GPU-hour per hour
    ledger.activate(r.id)
    clock.advance(HOUR)  # 0.5 used: the member budget is gone
    ledger.release(r.id, "server stopped")
    message = refusal(reserve(ledger, teams, "alice", "1g.10gb"), LimitCode.MEMBER_BUDGET)
    assert "you have used 0.50 of your 0.50 GPU-hours this month" in message
    assert "resets 2025-04-01 00:00 UTC" in message and "0 left" in message
    granted(reserve(ledger, teams, "alice", "cpu", "notes"))  # cpu costs nothing
    clock.now = MARCH_10 + 30 * 86400  # April: a new period
    granted(reserve(ledger, teams, "alice", "1g.10gb"))


def test_team_budget_counts_everyone(ledger: Ledger, teams: Teams, clock: FakeClock) -> None:
    for user in ("a", "b"):
        ledger.activate(granted(reserve(ledger, teams, user, "3g.40gb")).id)
    clock.advance(HOUR)  # 2 x 0.5 = the team's 1.0
    message = refusal(reserve(ledger, teams, "c", "1g.10gb"), LimitCode.TEAM_BUDGET)
    assert "team alpha has used 1.00 of its 1.00 GPU-hours this month" in message


@pytest.mark.timeout(120)
def test_concurrent_reservations_never_exceed_the_team_limit(ledger_url: str, teams) -> None:
    """Eight members reserve at once from their own connections: exactly three win.

    Each racer places on a GPU of its own, so no slot claim collides: only the team
    limit, checked in the reservation's transaction, can stop the extra five."""
    users = [f"user{i}" for i in range(8)]
    gpus = simulated_inventory(len(users)).gpus
    barrier = threading.Barrier(len(users))

    def race(user: str):
        ledger = Ledger(ledger_url)
        own = Inventory(gpus=(gpus[users.index(user)],), simulated=True)
        try:
            barrier.wait(timeout=30)
            return reserve(ledger, teams, user, "1g.10gb", inventory=own)
        finally:
            ledger.dispose()

    for _round in range(3):
        with ThreadPoolExecutor(max_workers=len(users)) as pool:
            outcomes = list(pool.map(race, users))
        wins = [o for o in outcomes if isinstance(o, AllocationRecord)]
        losses = [o for o in outcomes if isinstance(o, LimitRefusal)]
        assert len(wins) == 3 and len(losses) == 5, outcomes
        assert all(o.code is LimitCode.TEAM_CONCURRENCY for o in losses)
        check = Ledger(ledger_url)
        assert len(check.live()) == 3
        for record in check.live():
            check.release(record.id, "next round")
        check.dispose()
