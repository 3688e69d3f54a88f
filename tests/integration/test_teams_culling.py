"""Culling and session limits on a real hub: jupyterhub-idle-culler culls a server idle
past its team's (short, test) timeout and its slice is free again, while another team's
idle server is left alone; a server past its team's max session length is warned (the
warning is readable from inside the server) and then stopped by the quota service."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from tests.support.hub import Hub, wait_for
from tests.support.oidc import oidc_login, teams_hub

pytestmark = pytest.mark.integration

TEAMS = """
  idle-lab:
    kind: course
    groups: [idle-lab]
    policy: {idle_timeout: 6s}
  staff:
    kind: staff
    groups: [staff]
    policy: {max_session: 25s, warn_before: 20s}
"""

USERS = {"ida": ["idle-lab"], "stan": ["staff"]}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    with teams_hub(tmp_path_factory.mktemp("culling"), TEAMS, USERS) as (hub, provider):
        for user in USERS:
            assert oidc_login(hub.url, provider.issuer, user)[1].status_code == 200
        yield hub


def audit(hub: Hub) -> list[dict]:
    r = hub.get("/services/slices/api/audit?limit=1000", api=False)
    r.raise_for_status()
    return list(reversed(r.json()["audit"]))  # oldest first


def server_environment(hub: Hub, user: str) -> dict[str, str]:
    """The running server's own environment (local backend: a process on this machine)."""
    marker = f"JUPYTERHUB_USER={user}\0".encode()
    data = f"HOME={hub.home(user)}\0".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in raw and data in raw and b"SANDBOX_ALLOCATION_ID=" in raw:
            pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
            return {k.decode(): v.decode(errors="replace") for k, v in pairs}
    raise AssertionError(f"no server process of {user}")


def test_idle_server_is_culled_and_its_slice_freed(hub: Hub) -> None:
    r = hub.post("/users/ida/server", json={"image": "base", "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("ida")
    assert hub.inventory()["free"]["1g.10gb"] == 6
    started = time.monotonic()

    wait_for(lambda: hub.server("ida") is None, 90, "the idle culler to stop ida's server")
    assert time.monotonic() - started >= 3, "culled before it could have been idle for 6 s"
    assert hub.allocations() == []
    assert hub.inventory()["free"]["1g.10gb"] == 7
    [cull] = [e for e in audit(hub) if e["action"] == "cull"]
    assert cull["actor"] == "idle-culler" and cull["subject"] == "ida/"
    assert "over the 6s idle timeout of the team idle-lab" in cull["detail"]
    released = [e for e in audit(hub) if e["action"] == "release" and e["subject"] == "ida/"]
    assert released, "the cull released the slice in the ledger"


def test_session_past_max_length_is_warned_then_stopped(hub: Hub) -> None:
    r = hub.post("/users/stan/server", json={"image": "base", "slice": "1g.10gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("stan")
    env = server_environment(hub, "stan")
    assert env["SANDBOX_TEAM"] == "staff"
    assert abs(float(env["SANDBOX_SESSION_ENDS_AT"]) - (time.time() + 25)) < 20
    assert env["SANDBOX_SESSION_WARN_BEFORE"] == "20"  # the team's warn_before, in seconds

    # The warning, read the way JupyterLab will: from inside the server, with its token.
    def warned() -> dict | None:
        me = requests.get(
            env["SANDBOX_USAGE_URL"],
            headers={"Authorization": f"token {env['JUPYTERHUB_API_TOKEN']}"},
            timeout=10,
        )
        me.raise_for_status()
        found = [n for n in me.json()["notices"] if n["kind"] == "session-limit"]
        return found[0] if found else None

    notice = wait_for(warned, 30, "a session-limit warning")
    assert notice["due"] is False and notice["server_name"] == ""
    assert "sessions of team staff last at most 25s" in notice["message"]
    # The server's own slice endpoint warns at the same lead time as the hub.
    own = requests.get(
        f"{hub.url}/user/stan/api/sandbox/slice",
        headers={"Authorization": f"token {env['JUPYTERHUB_API_TOKEN']}"},
        timeout=10,
    )
    own.raise_for_status()
    assert own.json()["session"]["warn_before"] == 20

    wait_for(lambda: hub.server("stan") is None, 60, "the quota service to stop stan's server")
    assert hub.allocations() == []
    entries = [e for e in audit(hub) if e["subject"] == "stan/"]
    actions = [e["action"] for e in entries]
    assert "quota-warn" in actions and "quota-stop" in actions
    assert actions.index("quota-warn") < actions.index("quota-stop")
    stop = entries[actions.index("quota-stop")]
    assert "[session-limit]" in stop["detail"]
    # stan's team never idles out within the test: no cull for stan.
    assert "cull" not in actions
