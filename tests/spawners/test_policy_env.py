"""The hub's side of the server's policy environment: a spawner of a team member writes
the team's session end with its warn_before and the binding budget, and the server
(extensions/sandbox_server) reading that environment warns at the team's lead time."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from jupyterhub.spawner import LocalProcessSpawner

from extensions.sandbox_server.slice_info import slice_info
from hub_config.site import load_site
from hub_config.wiring import build_context
from spawners.mixin import SliceSpawnerMixin
from tests.backends import inprocess
from tests.policy.conftest import teams_from_yaml

TEAMS = """
default_policy: {max_slices_per_member: 1, idle_timeout: 1h, max_session: 12h, warn_before: 10m}
acme:
  kind: startup
  groups: [acme]
  policy: {max_session: 2h, warn_before: 25m, gpu_hours: {per_member: 3, per_team: 100}}
"""


class Spawner(SliceSpawnerMixin, LocalProcessSpawner):
    pass


def _spawner(tmp: Path, team: str | None) -> tuple[Spawner, dict[str, str]]:
    # The hub's own context for the embedded site, with these teams.
    ctx = build_context(load_site(env={}), tmp)
    ctx.ledger.create_schema()
    ctx.teams = teams_from_yaml(TEAMS)
    user = SimpleNamespace(
        name="ana", id=1, url="/user/ana/", groups=[SimpleNamespace(name="acme")]
    )
    spawner = Spawner(slice_context=ctx, user=user, hub=inprocess.hub())
    record = inprocess.record(id=4, user="ana", slice_name="1g.10gb", image="base", team=team)
    return spawner, spawner.policy_env(record)


def test_a_members_server_learns_its_teams_lead_time_and_binding_budget(tmp_path: Path) -> None:
    spawner, env = _spawner(tmp_path, "acme")
    now = spawner.slice_context.ledger.clock()
    assert env["SANDBOX_TEAM"] == "acme" and env["SANDBOX_ROLE"] == "member"
    assert abs(float(env["SANDBOX_SESSION_ENDS_AT"]) - (now + 2 * 3600)) <= 1
    assert env["SANDBOX_SESSION_WARN_BEFORE"] == str(25 * 60)
    # The member's 3 GPU-hours bind, not the team's 100.
    assert (env["SANDBOX_GPU_HOURS_LEFT"], env["SANDBOX_GPU_HOURS_BUDGET"]) == ("3.0000", "3.0000")


@pytest.mark.parametrize("minutes_left, warned", [(26, False), (25, True), (6, True)])
def test_the_server_warns_when_the_team_says(
    tmp_path: Path, minutes_left: int, warned: bool
) -> None:
    _, env = _spawner(tmp_path, "acme")
    ends = float(env["SANDBOX_SESSION_ENDS_AT"])
    env.update(SANDBOX_SLICE="1g.10gb", SANDBOX_SLICE_SIMULATED="1")
    info = slice_info(env, now=ends - minutes_left * 60, started_at=ends - 2 * 3600)
    codes = [w["code"] for w in info["warnings"]]
    assert ("session-ending" in codes) is warned


def test_a_server_charged_to_no_team_gets_no_policy(tmp_path: Path) -> None:
    _, env = _spawner(tmp_path, None)
    assert not any(
        k.startswith(("SANDBOX_SESSION", "SANDBOX_GPU_HOURS", "SANDBOX_TEAM")) for k in env
    )
