"""Personal logins on the embedded default, attacked: nobody logs in as another existing
user, as the admin, or as a system account; sign-ups wait for an admin, and the admin's
approval cannot be triggered from another site."""

from __future__ import annotations

import json
import os
import pwd
import re
import secrets

import pytest
import requests

from spawners.backends.unix_accounts import MEMBERS_GROUP
from tests.integration.conftest import make_hub  # noqa: F401
from tests.support.hub import Hub
from tests.support.requirements import require_root

pytestmark = pytest.mark.integration


def _session(hub: Hub) -> requests.Session:
    s = requests.Session()
    s.get(f"{hub.url}/hub/login", timeout=30).raise_for_status()
    return s


def _form(s: requests.Session, hub: Hub, path: str, **fields: str) -> requests.Response:
    return s.post(
        f"{hub.url}/hub/{path}",
        data={**fields, "_xsrf": s.cookies.get("_xsrf", path="/hub/")},
        timeout=30,
    )


def log_in(hub: Hub, user: str, password: str) -> requests.Session | None:
    """A session logged in as ``user``, or None when the hub refuses."""
    s = _session(hub)
    r = _form(s, hub, "login", username=user, password=password)
    return s if r.ok and "/hub/login" not in r.url else None


def sign_up(hub: Hub, user: str, password: str) -> str:
    s = _session(hub)
    s.get(f"{hub.url}/hub/signup", timeout=30).raise_for_status()
    r = _form(
        s,
        hub,
        "signup",
        username=user,
        signup_password=password,
        signup_password_confirmation=password,
    )
    assert r.status_code == 200, r.text
    return re.sub(r"\s+", " ", r.text)


def admin(hub: Hub) -> requests.Session:
    creds = json.loads((hub.data / "credentials.json").read_text())
    s = log_in(hub, creds["admin_user"], creds["admin_password"])
    assert s is not None, "the first admin logs in with the generated password"
    return s


def approve(hub: Hub, session: requests.Session, user: str, **headers: str) -> int:
    headers = headers or {"Sec-Fetch-Site": "same-origin"}
    r = session.get(
        f"{hub.url}/hub/authorize/{user}", headers=headers, timeout=30, allow_redirects=False
    )
    return r.status_code


def password() -> str:
    return secrets.token_urlsafe(16)


def test_nobody_signs_up_or_logs_in_as_someone_else(make_hub) -> None:  # noqa: F811
    hub: Hub = make_hub()
    # The admin's account exists from the start: signing up as the admin changes nothing.
    assert "already in use" in sign_up(hub, "admin", "attacker-" + password())
    assert log_in(hub, "admin", "attacker-" + password()) is None

    alice_password = password()
    assert "sent to the admin" in sign_up(hub, "alice", alice_password)
    assert log_in(hub, "alice", alice_password) is None, "not before an admin approves"
    boss = admin(hub)
    assert approve(hub, boss, "alice") == 302
    assert log_in(hub, "alice", alice_password) is not None

    # mallory can neither take over alice's name nor guess into it.
    assert "already in use" in sign_up(hub, "alice", "mallory-" + password())
    assert log_in(hub, "alice", "mallory-" + password()) is None

    # Names outside the pattern never become accounts.
    for bad in ("Root Admin", "../etc", "a" * 40, "-x"):
        sign_up(hub, bad, password())
        assert hub.get(f"/users/{bad}").status_code == 404


def test_repeated_wrong_passwords_lock_the_name_for_a_while(make_hub) -> None:  # noqa: F811
    hub: Hub = make_hub()
    creds = json.loads((hub.data / "credentials.json").read_text())
    for _ in range(6):
        assert log_in(hub, "admin", "guess-" + password()) is None
    assert log_in(hub, "admin", creds["admin_password"]) is None, "locked after 5 failures"


def test_approval_cannot_come_from_another_site(make_hub) -> None:  # noqa: F811
    hub: Hub = make_hub()
    sign_up(hub, "mallory", password())
    boss = admin(hub)
    # A link on another site (or in an e-mail) that the admin's browser follows.
    assert approve(hub, boss, "mallory", **{"Sec-Fetch-Site": "cross-site"}) == 403
    assert approve(hub, boss, "mallory", Referer="https://evil.example/") == 403
    page = boss.get(f"{hub.url}/hub/authorize", timeout=30).text
    assert re.search(r"mallory.*?Unauthorized|mallory.*?Authorize", page, re.S)
    assert log_in(hub, "mallory", password()) is None


def test_a_system_account_name_gets_its_own_prefixed_account(make_hub) -> None:  # noqa: F811
    require_root("unix accounts are created only by a root hub")
    system = pwd.getpwnam("root")
    hub: Hub = make_hub()
    name = "postgres" if _exists("postgres") else "daemon"
    secret = password()
    sign_up(hub, name, secret)
    assert approve(hub, admin(hub), name) == 302
    session = log_in(hub, name, secret)
    assert session is not None
    r = hub.spawn(name, {"image": "base", "slice": "cpu"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(name)
    inside = hub.slice_from_inside(name)
    assert inside["environment"]["SANDBOX_SLICE"] == "cpu"
    account = pwd.getpwnam(f"jupyter-{name}")
    assert account.pw_uid >= 1000 and account.pw_uid != pwd.getpwnam(name).pw_uid
    assert account.pw_uid != system.pw_uid
    assert account.pw_name in __import__("grp").getgrnam(MEMBERS_GROUP).gr_mem
    server_pid = hub.server_pid(name)
    assert os.stat(f"/proc/{server_pid}").st_uid == account.pw_uid


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def test_a_korean_name_signs_up_and_gets_a_hashed_account(make_hub) -> None:  # noqa: F811
    require_root("unix accounts are created only by a root hub")
    from spawners.core.accounts import account_name

    hub: Hub = make_hub()
    name, secret = "김철수", password()
    assert "sent to the admin" in sign_up(hub, name, secret)
    assert approve(hub, admin(hub), name) == 302
    assert log_in(hub, name, secret) is not None
    assert hub.spawn(name, {"image": "base", "slice": "cpu"}).status_code in (201, 202)
    hub.wait_ready(name)
    account = pwd.getpwnam(account_name(name))
    assert account.pw_name.startswith("jupyter-u--")
    assert os.stat(f"/proc/{hub.server_pid(name)}").st_uid == account.pw_uid
    hub.stop_server(name)
