"""The hub's own limits, for a hub without teams: GPU slices per user (checked by the
ledger inside its reservation transaction, SQLite and PostgreSQL, like a team's
max_slices_per_member) and named servers per user (JupyterHub's own setting), from the
site file to the refusal a user reads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config.site import SiteError, load_site
from hub_config.wiring import configure
from spawners.context import SliceContext, site_wide_choices
from spawners.core.allocator import PlacementStrategy
from spawners.core.model import Inventory
from spawners.core.policy import Admission, LimitCode, LimitRefusal
from spawners.inventory.simulated import simulated_inventory
from spawners.ledger.ledger import Ledger
from spawners.ledger.records import AllocationRecord
from spawners.refusal_status import http_status

from .conftest import teams_from_yaml

ONE_GPU_HELD = (
    "Limit reached: you already hold 1 GPU slice (a: 1g.10gb); this hub allows "
    "1 per user. Stop one to start another."
)


@dataclass(frozen=True)
class Held:
    user: str
    slice_name: str
    server_name: str = ""
    team: str | None = None
    weight: float = 1.0
    activated_at: float | None = 0.0
    released_at: float | None = None


def admission(slice_name: str, cap: int | None = 1, user: str = "alice") -> Admission:
    return Admission(user=user, slice_name=slice_name, max_gpu_slices_per_user=cap)


def refused(decision, code: LimitCode = LimitCode.USER_CONCURRENCY) -> str:
    assert isinstance(decision, LimitRefusal), decision
    assert decision.code is code and http_status(decision.code) == 403
    return decision.message


# --- the decision (pure) -----------------------------------------------------------------


def test_a_second_gpu_slice_is_refused_with_what_is_held() -> None:
    held = [Held("alice", "1g.10gb", "a")]
    assert refused(admission("2g.20gb").admit(held, now=0)) == ONE_GPU_HELD
    assert admission("1g.10gb").admit([], now=0) is None


def test_cpu_released_and_other_users_slices_do_not_count() -> None:
    held = [
        Held("alice", "cpu", "notes"),
        Held("alice", "3g.40gb", "old", released_at=5.0),
        Held("bob", "1g.10gb"),
    ]
    assert admission("1g.10gb").admit(held, now=10) is None
    # A cpu server is always allowed: it holds no GPU (named servers bound how many).
    assert admission("cpu").admit([Held("alice", "1g.10gb", "a")], now=10) is None


def test_the_listing_names_every_server_and_the_default_one() -> None:
    held = [Held("alice", "1g.10gb"), Held("alice", "2g.20gb", "big")]
    message = refused(admission("1g.10gb", cap=2).admit(held, now=0))
    assert message == (
        "Limit reached: you already hold 2 GPU slices (default server: 1g.10gb, "
        "big: 2g.20gb); this hub allows 2 per user. Stop one to start another."
    )


def test_cap_zero_is_cpu_only_and_none_is_no_cap() -> None:
    message = refused(admission("1g.10gb", cap=0).admit([], now=0))
    assert message == ("Limit reached: this hub allows no GPU slice per user; start a cpu server.")
    assert admission("cpu", cap=0).admit([], now=0) is None
    many = [Held("alice", "1g.10gb", str(i)) for i in range(7)]
    assert admission("1g.10gb", cap=None).admit(many, now=0) is None


def test_a_team_policy_decides_for_its_members() -> None:
    teams = teams_from_yaml(
        "alpha: {kind: startup, groups: [alpha], policy: {max_slices_per_member: 2}}"
    )
    membership = teams.membership({"alpha"})
    member = Admission(
        user="alice", slice_name="1g.10gb", membership=membership, max_gpu_slices_per_user=1
    )
    held = [Held("alice", "1g.10gb", "a", team="alpha")]
    assert member.admit(held, now=0) is None  # the team allows 2; the hub's 1 is not used
    held.append(Held("alice", "1g.10gb", "b", team="alpha"))
    assert "per member of team alpha" in refused(
        member.admit(held, now=0), LimitCode.MEMBER_CONCURRENCY
    )


def test_the_context_asks_for_the_cap_only_without_a_team() -> None:
    inventory = simulated_inventory(1)
    ctx = SliceContext(
        inventory=inventory,
        ledger=Ledger("sqlite://"),  # never opened: admission reads no records
        choices_for=site_wide_choices(inventory, ("base",)),
        images={},
        max_gpu_slices_per_user=1,
    )
    assert ctx.admission("alice", None, "1g.10gb") == admission("1g.10gb")
    ctx.max_gpu_slices_per_user = None
    assert ctx.admission("alice", None, "1g.10gb") is None


# --- in the ledger's reservation transaction ----------------------------------------------


def reserve(ledger: Ledger, user: str, slice_name: str, server: str, inventory=None):
    return ledger.reserve(
        user=user,
        server_name=server,
        image="base",
        slice_name=slice_name,
        inventory=inventory or simulated_inventory(1),
        epoch="e",
        strategy=PlacementStrategy.FIRST_FIT,
        limits=admission(slice_name, user=user),
    )


def test_the_ledger_holds_one_gpu_slice_per_user(ledger: Ledger) -> None:
    first = reserve(ledger, "alice", "1g.10gb", "a")
    assert isinstance(first, AllocationRecord)
    assert refused(reserve(ledger, "alice", "1g.10gb", "b")) == ONE_GPU_HELD
    assert isinstance(reserve(ledger, "alice", "cpu", "notes"), AllocationRecord)
    assert isinstance(reserve(ledger, "bob", "1g.10gb", ""), AllocationRecord)
    assert sorted((r.user, r.server_name) for r in ledger.live()) == [
        ("alice", "a"),
        ("alice", "notes"),
        ("bob", ""),
    ]
    ledger.release(first.id, "server stopped")  # a stopped server makes room again
    assert isinstance(reserve(ledger, "alice", "1g.10gb", "b"), AllocationRecord)


@pytest.mark.timeout(120)
def test_concurrent_reservations_of_one_user_grant_one(ledger_url: str) -> None:
    """Six named servers of one user reserve at once from their own connections, each on
    a GPU of its own (no slot claim collides): only the cap, counted in the
    reservation's transaction, can stop five of them."""
    servers = [f"s{i}" for i in range(6)]
    gpus = simulated_inventory(len(servers)).gpus
    barrier = threading.Barrier(len(servers))

    def race(server: str):
        ledger = Ledger(ledger_url)
        own = Inventory(gpus=(gpus[servers.index(server)],), simulated=True)
        try:
            barrier.wait(timeout=30)
            return reserve(ledger, "alice", "1g.10gb", server, inventory=own)
        finally:
            ledger.dispose()

    for _round in range(3):
        with ThreadPoolExecutor(max_workers=len(servers)) as pool:
            outcomes = list(pool.map(race, servers))
        wins = [o for o in outcomes if isinstance(o, AllocationRecord)]
        losses = [o for o in outcomes if isinstance(o, LimitRefusal)]
        assert len(wins) == 1 and len(losses) == 5, outcomes
        assert all(o.code is LimitCode.USER_CONCURRENCY for o in losses)
        check = Ledger(ledger_url)
        [live] = check.live()
        check.release(live.id, "next round")
        check.dispose()


# --- from the site file ----------------------------------------------------------------


def site(tmp_path: Path, hub: str = "{}"):
    path = tmp_path / "site.yaml"
    path.write_text(f"site: {{name: t}}\nhub: {hub}\ngpus: {{source: simulated}}\n")
    return load_site(path, env={})


def test_defaults_reach_jupyterhub_and_the_context(tmp_path: Path) -> None:
    c = Config()
    ctx = configure(c, site(tmp_path), env={"SANDBOX_DATA": str(tmp_path / "data")})
    try:
        assert c.JupyterHub.named_server_limit_per_user == 2
        assert ctx.max_gpu_slices_per_user == 1
    finally:
        ctx.ledger.dispose()


def test_a_site_may_raise_or_lift_the_limits(tmp_path: Path) -> None:
    c = Config()
    hub = "{named_server_limit_per_user: 0, max_gpu_slices_per_user: null}"
    ctx = configure(c, site(tmp_path, hub), env={"SANDBOX_DATA": str(tmp_path / "data")})
    try:
        assert c.JupyterHub.named_server_limit_per_user == 0  # JupyterHub's "no limit"
        assert ctx.max_gpu_slices_per_user is None
        assert ctx.admission("alice", None, "1g.10gb") is None
    finally:
        ctx.ledger.dispose()


@pytest.mark.parametrize(
    "hub",
    [
        "{named_server_limit_per_user: -1}",
        "{named_server_limit_per_user: null}",
        "{max_gpu_slices_per_user: -1}",
        "{max_gpu_slices_per_user: two}",
    ],
)
def test_bad_limits_are_refused_at_load(tmp_path: Path, hub: str) -> None:
    with pytest.raises(SiteError, match=r"at hub\.(named_server_limit|max_gpu_slices)_per_user"):
        site(tmp_path, hub)
