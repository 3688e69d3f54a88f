"""Login through a real OpenID Connect provider (npm oidc-provider), the real
authorization-code flow: groups synced at every login, users in no team refused."""

from __future__ import annotations

import pytest
import requests

from tests.support.hub import Hub
from tests.support.oidc import oidc_login, teams_hub

pytestmark = pytest.mark.integration

TEAMS = """
  startup-alpha:
    kind: startup
    groups: [startup-alpha]
  course-ml101:
    kind: course
    groups: [course-ml101]
    instructors: {groups: [course-ml101-instructors]}
"""

USERS = {
    "alice": ["startup-alpha", "unrelated-mailing-list"],
    "mallory": ["marketing"],
    "erin": ["startup-alpha"],
    "ivan": ["course-ml101-instructors"],
    # A provider account whose username is a system account's name on the hub's host.
    "daemon": ["startup-alpha"],
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with teams_hub(tmp_path_factory.mktemp("oidc"), TEAMS, USERS) as (hub, provider):
        yield hub, provider


def groups_of(hub: Hub, user: str) -> list[str]:
    return sorted(hub.user(user)["groups"])


def test_login_page_offers_the_data_center_account(world) -> None:
    hub, _ = world
    page = requests.get(f"{hub.url}/hub/login", timeout=30)
    assert page.status_code == 200
    assert "Sign in with Test Data Center account" in page.text


def test_startup_member_lands_in_the_hub_with_the_group_synced(world) -> None:
    hub, provider = world
    session, r = oidc_login(hub.url, provider.issuer, "alice")
    assert r.status_code == 200, r.text[:500]
    assert r.url.startswith(hub.url)
    # Logged in: the hub knows who this is, and the IdP's groups became hub groups.
    me = session.get(f"{hub.url}/hub/api/user", timeout=30)
    assert me.status_code == 200 and me.json()["name"] == "alice"
    assert groups_of(hub, "alice") == ["startup-alpha", "unrelated-mailing-list"]


def test_user_in_no_team_is_refused_with_a_clear_page(world) -> None:
    hub, provider = world
    _, r = oidc_login(hub.url, provider.issuer, "mallory")
    assert r.status_code == 403
    assert "not in any team of this hub" in r.text
    assert "Teams test hub" in r.text
    assert hub.get("/users/mallory").status_code == 404


def test_group_change_at_the_idp_shows_at_the_next_login(world) -> None:
    hub, provider = world
    _, r = oidc_login(hub.url, provider.issuer, "erin")
    assert r.status_code == 200
    assert groups_of(hub, "erin") == ["startup-alpha"]

    provider.set_groups("erin", ["course-ml101"])
    _, r = oidc_login(hub.url, provider.issuer, "erin")
    assert r.status_code == 200
    assert groups_of(hub, "erin") == ["course-ml101"]

    # Leaving every team at the IdP locks the user out at the next login.
    provider.set_groups("erin", ["alumni"])
    _, r = oidc_login(hub.url, provider.issuer, "erin")
    assert r.status_code == 403 and "not in any team" in r.text


def test_instructor_group_logs_in_and_gets_the_instructor_role(world) -> None:
    hub, provider = world
    session, r = oidc_login(hub.url, provider.issuer, "ivan")
    assert r.status_code == 200
    assert groups_of(hub, "ivan") == ["course-ml101-instructors"]
    me = session.get(f"{hub.url}/services/slices/api/me", timeout=30)
    assert me.status_code == 200, me.text
    assert me.json()["team"] == "course-ml101" and me.json()["role"] == "instructor"


def test_sign_in_goes_to_the_discovered_authorization_endpoint(world) -> None:
    hub, provider = world
    # The site file names only the issuer: the endpoints come from its discovery document.
    r = requests.get(f"{hub.url}/hub/oauth_login", allow_redirects=False, timeout=30)
    assert r.status_code == 302
    location = r.headers["Location"]
    assert location.startswith(f"{provider.issuer}/auth?")
    assert "client_id=sandbox-hub" in location and "groups" in location


def test_a_system_account_name_from_the_idp_gets_its_own_prefixed_account(world) -> None:
    import os
    import pwd

    from tests.support.requirements import require_root

    require_root("servers run as their users' own unix accounts only under a root hub")
    hub, provider = world
    _, r = oidc_login(hub.url, provider.issuer, "daemon")
    assert r.status_code == 200
    spawned = hub.spawn("daemon", {"image": "base", "slice": "cpu"})
    assert spawned.status_code in (201, 202), spawned.text
    hub.wait_ready("daemon")
    try:
        pid = hub.server_pid("daemon")
        owner = os.stat(f"/proc/{pid}").st_uid
        assert owner == pwd.getpwnam("jupyter-daemon").pw_uid
        assert owner != pwd.getpwnam("daemon").pw_uid and owner >= 1000
    finally:
        hub.stop_server("daemon")
