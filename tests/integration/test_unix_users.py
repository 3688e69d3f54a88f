"""The local backend with real unix users: the server runs as the user's account."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess

import pytest

from tests.support.hub import Hub

SITE = """
site: {name: Unix users}
hub:
  backend: {kind: local, run_as_hub_user: false}
  start_timeout: 120
  http_timeout: 90
gpus: {source: simulated, simulated_count: 1}
"""
USER = "sandboxtest1"


@pytest.fixture
def unix_user():
    if os.getuid() != 0 or shutil.which("useradd") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must run as root with useradd to test real unix users")
        pytest.skip("needs root and useradd")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", USER], check=True)
    yield USER


def test_server_runs_as_the_users_unix_account(make_hub, unix_user: str) -> None:
    hub: Hub = make_hub(SITE)
    r = hub.spawn(unix_user, {"image": "medical", "slice": "2g.20gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(unix_user)
    inside = hub.slice_from_inside(unix_user)
    assert inside["environment"]["SANDBOX_SLICE"] == "2g.20gb"
    [allocation] = hub.allocations()
    pid = int(_engine_pid(hub, allocation["id"]))
    assert os.stat(f"/proc/{pid}").st_uid == pwd.getpwnam(unix_user).pw_uid
    hub.stop_server(unix_user)
    assert hub.allocations() == []


def _engine_pid(hub: Hub, allocation_id: int) -> str:
    from spawners.ledger.ledger import Ledger

    ledger = Ledger(f"sqlite:///{hub.data / 'ledger.sqlite'}")
    try:
        record = ledger.get(allocation_id)
    finally:
        ledger.dispose()
    assert record is not None and record.engine_ref and record.engine_ref.startswith("pid:")
    return record.engine_ref[4:]
