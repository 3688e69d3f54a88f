"""The slices service authorises on the calling token's scopes, JupyterHub RBAC style,
never on its user's admin flag: against one real hub (proxy, service, local servers),
every admin endpoint, refused to each caller that lacks its scope and granted with it."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from extensions.slices_service.authz import holds, may_stop, stop_groups
from tests.integration.conftest import TEST_SITE
from tests.support.hub import REPO, Hub, wait_for, write_site
from tests.support.requirements import missing

SLICES = "/services/slices/"
ACCESS = "access:services!service=slices"
STOP = "delete:servers"
# The scopes of wiring.py's `server` role for the admin's default server: what the
# JUPYTERHUB_API_TOKEN of that server holds (a user token cannot carry `!server` itself).
SERVER_ROLE = [
    "users:activity!user",
    "access:servers!server=admin/",
    ACCESS,
    "access:services!service=courses",
]

# (method, path under the service, the scope that grants it)
ENDPOINTS = [
    ("GET", "api/allocations", "read:users"),
    ("GET", "api/overview", "read:users"),
    ("GET", "", "read:users"),  # the capacity page
    ("GET", "api/usage", "read:users"),
    ("GET", "api/usage.csv", "read:users"),
    ("GET", "api/charts", "read:users"),
    ("GET", "api/charts/slices.csv", "read:users"),
    ("GET", "api/teams", "read:users"),
    ("GET", "api/audit", "read:users"),
    ("GET", "metrics", "read:metrics"),
    ("POST", "api/servers/stop", STOP),
]
ALL_SCOPES = sorted({scope for _, _, scope in ENDPOINTS})
IDS = [f"{m} /{p}" for m, p, _ in ENDPOINTS]


# --- the rules, without a hub ----------------------------------------------------------


def caller(*scopes: str) -> dict:
    return {"name": "x", "admin": True, "scopes": list(scopes)}


def test_the_admin_flag_alone_grants_nothing() -> None:
    admin = caller(ACCESS)
    assert not holds(admin, "read:users") and not holds(admin, "read:metrics")
    assert not may_stop(admin, "bob")


def test_only_unfiltered_read_users_reads_everyone() -> None:
    assert holds(caller("read:users"), "read:users")
    assert not holds(caller("read:users!user=bob"), "read:users")
    assert not holds(caller("read:users!group=staff"), "read:users")
    assert not holds(caller("read:users:name"), "read:users")


def test_stop_honours_the_hubs_filters() -> None:
    for scopes in (["admin:servers"], ["delete:servers"]):
        assert may_stop(caller(*scopes), "bob") and may_stop(caller(*scopes), "bob", "gpu")
    by_user = caller("delete:servers!user=bob")
    assert may_stop(by_user, "bob") and may_stop(by_user, "bob", "gpu")
    assert not may_stop(by_user, "carol") and not may_stop(by_user, "bobby")
    by_server = caller("delete:servers!server=bob/gpu")
    assert may_stop(by_server, "bob", "gpu")
    assert not may_stop(by_server, "bob") and not may_stop(by_server, "bob", "other")
    by_group = caller("delete:servers!group=staff")
    assert stop_groups(by_group) == {"staff"}
    assert may_stop(by_group, "bob", owner_groups={"staff", "x"})
    assert not may_stop(by_group, "bob", owner_groups={"x"}) and not may_stop(by_group, "bob")
    # Reading servers, or starting them, is not stopping them.
    assert not may_stop(caller("read:servers", "start:servers"), "bob")


# --- against a real hub ------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """One hub for the module; `make_hub` is per test and would start one per test."""
    if shutil.which("configurable-http-proxy", path=f"{REPO / 'node_modules' / '.bin'}") is None:
        missing("configurable-http-proxy (make setup)")
    tmp: Path = tmp_path_factory.mktemp("service-scopes")
    # Names as loose as an identity provider may hand out: the CSV must be safe even when
    # the login pattern lets a formula through.
    site = TEST_SITE.replace(
        "hub:\n", "hub:\n  authenticator: {kind: native, username_pattern: '^.{1,40}$'}\n", 1
    )
    hub = Hub(tmp / "hub", site=write_site(tmp / "site.yaml", site))
    try:
        hub.start(timeout=120)
        for user in ("admin", "bob"):
            assert hub.spawn(user, {"image": "base", "slice": "cpu"}).status_code in (201, 202)
        hub.ensure_user("carol")
        assert hub.post("/groups/stoppers", json={"users": ["carol"]}).ok
        for user in ("admin", "bob"):
            hub.wait_ready(user)
        yield hub
    finally:
        hub.stop()
        hub.remove_homes()


def server_token(hub: Hub, user: str) -> str:
    """The real JUPYTERHUB_API_TOKEN of ``user``'s running (local) server."""
    r = hub.get(f"/users/{user}")
    r.raise_for_status()
    pid = r.json()["servers"][""]["state"]["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    [token] = [v.split(b"=", 1)[1] for v in environ if v.startswith(b"JUPYTERHUB_API_TOKEN=")]
    return token.decode()


@pytest.fixture(scope="module")
def refused(hub: Hub) -> dict[str, str | None]:
    """Callers that must get no admin endpoint at all."""
    return {
        "anonymous": None,
        "another user": hub.user_token("carol"),
        "admin, service access only": hub.user_token("admin", scopes=[ACCESS]),
        "admin, server role scopes": hub.user_token("admin", scopes=SERVER_ROLE),
        "admin's real server token": server_token(hub, "admin"),
        "admin, filtered scopes": hub.user_token(
            "admin", scopes=[ACCESS, "read:users!user=bob", "delete:servers!user=carol"]
        ),
    }


def call(
    hub: Hub, token: str | None, method: str, path: str, user: str = "bob"
) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    body = {"json": {"user": user}} if method == "POST" else {}
    return requests.request(
        method,
        f"{hub.url}{SLICES}{path}",
        headers=headers,
        timeout=60,
        allow_redirects=False,
        **body,
    )


def assert_refused(r: requests.Response, anonymous: bool) -> None:
    """403 with a short message; anonymous callers may instead be sent to log in."""
    assert "Traceback" not in r.text and len(r.text) < 2000, r.text
    if not anonymous:
        assert r.status_code == 403, r.text
    elif r.status_code == 302:
        assert "/hub/" in r.headers["Location"], r.headers["Location"]
    else:
        assert r.status_code in (401, 403), r.text


@pytest.mark.integration
@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS, ids=IDS)
def test_callers_without_the_scope_are_refused(
    hub: Hub, refused: dict[str, str | None], method: str, path: str, scope: str
) -> None:
    for who, token in refused.items():
        r = call(hub, token, method, path)
        try:
            assert_refused(r, anonymous=token is None)
        except AssertionError as e:
            raise AssertionError(f"{who}: {method} /{path} -> {r.status_code}") from e
    # Every other endpoint's scope together still does not open this one.
    others = [s for s in ALL_SCOPES if s != scope]
    r = call(hub, hub.user_token("admin", scopes=[ACCESS, *others]), method, path)
    assert r.status_code == 403, (others, r.status_code, r.text)
    # A refused stop stopped nothing.
    assert hub.server("bob") is not None and hub.server("bob")["ready"]


@pytest.mark.integration
@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS[:-1], ids=IDS[:-1])
def test_the_right_scope_is_enough(hub: Hub, method: str, path: str, scope: str) -> None:
    r = call(hub, hub.user_token("admin", scopes=[ACCESS, scope]), method, path)
    assert r.status_code == 200, r.text
    if path == "api/allocations":
        assert {a["user"] for a in r.json()["allocations"]} >= {"admin", "bob"}
    if path == "metrics":
        assert "sandbox_slices_in_use" in r.text


@pytest.mark.integration
def test_stop_scopes_and_their_filters(hub: Hub) -> None:
    # Filtered to carol (by user or by her group): bob's server is not theirs to stop.
    for scopes in (["delete:servers!user=carol"], ["delete:servers!group=stoppers"]):
        token = hub.user_token("admin", scopes=[ACCESS, *scopes])
        assert call(hub, token, "POST", "api/servers/stop", user="bob").status_code == 403
        ok = call(hub, token, "POST", "api/servers/stop", user="carol")
        assert ok.status_code == 200, (scopes, ok.text)  # carol runs nothing: the hub's 204
    assert hub.server("bob") is not None
    admin_servers = hub.user_token("admin", scopes=[ACCESS, "admin:servers"])
    assert call(hub, admin_servers, "POST", "api/servers/stop", user="carol").status_code == 200
    # Unfiltered delete:servers stops bob's server for real.
    r = call(hub, hub.user_token("admin", scopes=[ACCESS, STOP]), "POST", "api/servers/stop")
    assert r.status_code == 200 and r.json()["user"] == "bob", r.text
    wait_for(lambda: hub.server("bob") is None, 60, "bob's server to stop")


@pytest.mark.integration
def test_any_user_still_reads_the_inventory_and_their_own_usage(hub: Hub) -> None:
    for token in (hub.user_token("carol", scopes=[ACCESS]), server_token(hub, "admin")):
        headers = {"Authorization": f"token {token}"}
        for path in ("api/inventory", "api/me"):
            r = requests.get(f"{hub.url}{SLICES}{path}", headers=headers, timeout=60)
            assert r.status_code == 200, (path, r.text)
    anonymous = requests.get(f"{hub.url}{SLICES}api/me", timeout=60, allow_redirects=False)
    assert anonymous.status_code in (302, 403)


@pytest.mark.integration
def test_the_server_extension_answers_its_owner_only(hub: Hub) -> None:
    """Every endpoint of the admin's server extension refuses another user and anonymous
    callers (jupyter-server's own authentication and authorisation)."""
    prefix = f"{hub.url}/user/admin/api/sandbox/"
    endpoints = [
        ("GET", "slice"),
        ("GET", "courses"),
        ("POST", "courses/pull"),
        ("POST", "courses/handin"),
        ("POST", "courses/publish"),
    ]
    other = {"Authorization": f"token {hub.user_token('carol')}"}
    for method, path in endpoints:
        for headers in (other, {}):
            r = requests.request(
                method, prefix + path, headers=headers, json={}, timeout=60, allow_redirects=False
            )
            assert r.status_code in ((403,) if headers else (302, 401, 403)), (path, r.text)
    own = {"Authorization": f"token {server_token(hub, 'admin')}"}
    assert requests.get(prefix + "slice", headers=own, timeout=60).status_code == 200


@pytest.mark.integration
def test_usage_csv_neutralises_a_formula_user_name(hub: Hub) -> None:
    name = "=2*21"
    assert hub.spawn(name, {"image": "base", "slice": "cpu"}).status_code in (201, 202)
    hub.wait_ready(name)
    hub.stop_server(name)
    r = hub.get(f"{SLICES}api/usage.csv?since=0", api=False)
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    users = {row["user"] for row in rows}
    assert "'=2*21" in users and name not in users
    [row] = [row for row in rows if row["user"] == "'=2*21"]
    # The figures stay plain numbers.
    assert float(row["seconds"]) > 0 and float(row["gpu_hours"]) == 0.0
