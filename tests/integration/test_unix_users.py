"""The local backend with real unix users: the server of a hub user runs as the unix
account the hub created for that user (``jupyter-<name>``), not as root or the hub."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
from pathlib import Path

import pytest

from spawners.backends.local import parse_engine_ref
from spawners.backends.unix_accounts import FIRST_UID, MEMBERS_GROUP
from tests.support.hub import Hub
from tests.support.requirements import missing

SITE = """
site: {name: Unix users}
hub:
  backend: {kind: local, local: {run_as: system-users}}
  start_timeout: 120
  http_timeout: 90
gpus: {source: simulated, simulated_count: 1}
"""
USER = "sandboxtest1"
ACCOUNT = "jupyter-sandboxtest1"


@pytest.fixture
def root() -> None:
    if os.getuid() != 0 or shutil.which("useradd") is None:
        missing("root and useradd, to test real unix users")


def test_server_runs_as_the_users_unix_account(make_hub, root: None) -> None:
    hub: Hub = make_hub(SITE)
    r = hub.spawn(USER, {"image": "medical", "slice": "2g.20gb"})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(USER)
    inside = hub.slice_from_inside(USER)
    assert inside["environment"]["SANDBOX_SLICE"] == "2g.20gb"

    # The account the hub created for this user (at the latest at this first spawn).
    account = pwd.getpwnam(ACCOUNT)
    assert account.pw_uid >= FIRST_UID
    assert ACCOUNT in grp.getgrnam(MEMBERS_GROUP).gr_mem
    home = hub.home(USER)
    assert home == hub.homes / ACCOUNT
    assert stat.S_IMODE(home.stat().st_mode) == 0o700 and home.stat().st_uid == account.pw_uid

    [allocation] = hub.allocations()
    pid = _engine_pid(hub, allocation["id"])
    proc = Path(f"/proc/{pid}")
    status = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines())
    real, effective, saved, _fs = (int(u) for u in status["Uid"].split())
    assert real == effective == saved == account.pw_uid, status["Uid"]
    assert proc.stat().st_uid == account.pw_uid
    assert {int(g) for g in status["Gid"].split()} == {account.pw_gid}
    groups = {int(g) for g in status["Groups"].split()}
    assert grp.getgrnam(MEMBERS_GROUP).gr_gid in groups and 0 not in groups
    environ = (proc / "environ").read_bytes().split(b"\0")
    assert f"HOME={home}".encode() in environ and f"USER={ACCOUNT}".encode() in environ

    hub.stop_server(USER)
    assert hub.allocations() == []


def _engine_pid(hub: Hub, allocation_id: int) -> int:
    from spawners.ledger.ledger import Ledger

    ledger = Ledger(f"sqlite:///{hub.data / 'ledger.sqlite'}")
    try:
        record = ledger.get(allocation_id)
    finally:
        ledger.dispose()
    assert record is not None
    pid, _cgroup = parse_engine_ref(record.engine_ref)
    assert pid is not None, record.engine_ref
    return pid
