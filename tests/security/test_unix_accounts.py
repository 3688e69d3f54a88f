"""The hub's unix accounts on this machine: created with a private home, reused only when
they are the hub's own for that very hub user, never an account someone else made."""

from __future__ import annotations

import grp
import os
import pwd
import secrets
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from spawners.backends.unix_accounts import MEMBERS_GROUP, AccountError, ensure_account
from spawners.core.accounts import account_name
from spawners.refusal_status import http_status
from tests.support.requirements import require_root


@pytest.fixture
def names() -> Iterator[list[str]]:
    require_root("creating unix accounts")
    made: list[str] = []
    yield made
    for name in made:
        subprocess.run(["userdel", name], capture_output=True, check=False)
        subprocess.run(["groupdel", name], capture_output=True, check=False)


@pytest.fixture
def homes() -> Iterator[Path]:
    # Outside pytest's 0700 temp root, as a real homes folder is.
    path = Path("/tmp") / f"sandbox-test-homes-{secrets.token_hex(4)}"
    path.mkdir(mode=0o755)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


def test_first_spawn_creates_a_private_account(names: list[str], homes: Path) -> None:
    user = f"t{secrets.token_hex(3)}"
    account = ensure_account(user, "jupyter-", homes)
    names.append(account.name)
    entry = pwd.getpwnam(account_name(user))
    assert entry.pw_uid >= 1000 and entry.pw_uid == account.uid
    assert account.name in grp.getgrnam(MEMBERS_GROUP).gr_mem
    assert account.home == homes / account.name
    mode = account.home.stat()
    assert stat.S_IMODE(mode.st_mode) == 0o700 and mode.st_uid == account.uid
    # Again: the same account, and a loosened home is made private again.
    os.chmod(account.home, 0o755)
    assert ensure_account(user, "jupyter-", homes) == account
    assert stat.S_IMODE(account.home.stat().st_mode) == 0o700


def test_an_account_the_hub_did_not_make_is_refused(names: list[str], homes: Path) -> None:
    user = f"t{secrets.token_hex(3)}"
    squatted = account_name(user)
    subprocess.run(["useradd", "--no-create-home", squatted], check=True)
    names.append(squatted)
    with pytest.raises(AccountError) as refused:
        ensure_account(user, "jupyter-", homes)
    assert refused.value.code == "account-not-ours" and http_status(refused.value.code) == 409
    assert "was not created by this hub for you" in str(refused.value)
    assert not (homes / squatted).exists()


def test_another_hub_users_account_is_refused(
    names: list[str], homes: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = f"t{secrets.token_hex(3)}"
    account = ensure_account(owner, "jupyter-", homes)
    names.append(account.name)
    # A different hub name can only reach that account through a forged mapping: the
    # comment field names the owner, so even then it is refused.
    from spawners.backends import unix_accounts

    monkeypatch.setattr(unix_accounts, "account_name", lambda _user, _prefix: account.name)
    with pytest.raises(AccountError):
        ensure_account("someone-else", "jupyter-", homes)


def test_a_home_that_is_a_link_is_refused(names: list[str], homes: Path) -> None:
    user = f"t{secrets.token_hex(3)}"
    (homes / account_name(user)).symlink_to("/etc")
    with pytest.raises(AccountError) as refused:
        ensure_account(user, "jupyter-", homes)
    names.append(account_name(user))
    assert refused.value.code == "home-not-a-folder" and http_status(refused.value.code) == 409
    assert stat.S_IMODE(os.stat("/etc").st_mode) == 0o755, "nothing done to the target"
