"""The unix account and home of a hub user on this machine, created on first spawn.

As The Littlest JupyterHub does: one account per hub user with a fixed prefix
(``jupyter-alice``, see spawners/core/accounts.py), its own private group, membership in
one marker group, and a home of its own with mode 0700. An account of that name that the
hub did not create (a system account, or one made for someone else) is never used."""

from __future__ import annotations

import contextlib
import grp
import hashlib
import os
import pwd
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from spawners.core.accounts import account_name
from spawners.core.refusals import N_, RefusalCode, RefusalError

MEMBERS_GROUP = "sandbox-users"
"""Every account the hub created is in this group: the mark that it is the hub's."""
FIRST_UID = 1000
"""Below this, an account is a system account (Debian's UID_MIN)."""
_create_lock = threading.Lock()


class AccountError(RefusalError, RuntimeError):
    """The account cannot be created (account-not-created) or is not one the hub may use
    (account-not-ours, home-not-a-folder); the message is safe to show to the user."""

    default_code = RefusalCode.ACCOUNT_NOT_CREATED


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: Path


def owner_mark(hub_user: str) -> str:
    """The comment (GECOS) field of the hub's accounts: which hub user owns it."""
    digest = hashlib.sha256(hub_user.encode("utf-8")).hexdigest()[:32]
    return f"AI Sandbox Hub user {digest}"


def ensure_account(hub_user: str, prefix: str, homes_root: Path) -> Account:
    """The account of ``hub_user`` (created if missing) with its home ready."""
    name = account_name(hub_user, prefix)
    home = homes_root / name
    with _create_lock:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            _create(name, hub_user, home)
            entry = pwd.getpwnam(name)
    _check_ours(entry, hub_user)
    _prepare_home(home, entry.pw_uid, entry.pw_gid)
    return Account(name=name, uid=entry.pw_uid, gid=entry.pw_gid, home=home)


def _create(name: str, hub_user: str, home: Path) -> None:
    try:
        grp.getgrnam(MEMBERS_GROUP)
    except KeyError:
        _run(["groupadd", "--system", MEMBERS_GROUP], f"create the group {MEMBERS_GROUP}")
    home.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    _run(
        [
            "useradd",
            "--no-create-home",
            "--home-dir",
            str(home),
            "--shell",
            "/bin/bash",
            "--comment",
            owner_mark(hub_user),
            "--user-group",
            "--groups",
            MEMBERS_GROUP,
            "--key",
            f"UID_MIN={FIRST_UID}",
            name,
        ],
        f"create the account {name}",
    )


def _run(cmd: list[str], what: str) -> None:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise AccountError(
            N_("The hub could not %(what)s (%(why)s)."), what=what, why=str(e)
        ) from None
    if result.returncode != 0 and "already exists" not in result.stderr:
        raise AccountError(
            N_("The hub could not %(what)s: %(why)s"), what=what, why=result.stderr.strip()[:200]
        )


def _check_ours(entry: pwd.struct_passwd, hub_user: str) -> None:
    members = set()
    try:
        group = grp.getgrnam(MEMBERS_GROUP)
        members = set(group.gr_mem)
    except KeyError:
        pass
    if (
        entry.pw_uid < FIRST_UID
        or entry.pw_name not in members
        or entry.pw_gecos.split(",")[0] != owner_mark(hub_user)
    ):
        raise AccountError(
            N_(
                "The unix account %(account)s exists but was not created by this hub for "
                "you, so your server cannot use it. Ask an administrator."
            ),
            RefusalCode.ACCOUNT_NOT_OURS,
            account=entry.pw_name,
        )


def _prepare_home(home: Path, uid: int, gid: int) -> None:
    home.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    with contextlib.suppress(FileExistsError):
        home.mkdir(mode=0o700)
    stat = home.lstat()
    if home.is_symlink() or not home.is_dir():
        raise AccountError(
            N_("The home folder %(home)s is not a folder; ask an administrator."),
            RefusalCode.HOME_NOT_A_FOLDER,
            home=str(home),
        )
    if stat.st_uid != uid or stat.st_gid != gid:
        os.chown(home, uid, gid)
    if stat.st_mode & 0o777 != 0o700:
        os.chmod(home, 0o700)
