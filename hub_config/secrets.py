"""First-run secrets in the data folder: created once (mode 0600), reused after."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
from pathlib import Path


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def token_file(path: Path, nbytes: int = 32) -> str:
    """A random hex token kept in ``path`` (the proxy's auth token, for instance)."""
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            _write_private(path, secrets.token_hex(nbytes))
    return path.read_text(encoding="utf-8").strip()


CREDENTIALS_FILE = "credentials.json"


def login_credentials(data_dir: Path, admin_name: str, shared: bool = False) -> dict[str, str]:
    """The first admin's generated password (and, for a shared-password workshop hub
    only, the one password of every other user), in ``credentials.json`` (mode 0600).

    Shown once, on the run that creates them; afterwards they are only in the file."""
    path = data_dir / CREDENTIALS_FILE
    creds: dict[str, str] = {}
    if path.exists():
        creds = json.loads(path.read_text(encoding="utf-8"))
    wanted = {"admin_user": admin_name, "admin_password": secrets.token_urlsafe(30)}
    if shared:
        wanted["user_password"] = secrets.token_urlsafe(18)
    created = [k for k in wanted if k not in creds]
    creds = {**wanted, **creds}
    # A hub that moved off the shared password: that password must not live on.
    dropped = not shared and creds.pop("user_password", None) is not None
    if not created and not dropped:
        return creds
    tmp = path.with_name(path.name + ".new")
    tmp.unlink(missing_ok=True)
    _write_private(tmp, json.dumps(creds, indent=2) + "\n")
    tmp.replace(path)
    if "admin_password" in created:
        others = (
            f"  other users:  any user name, password {creds['user_password']}\n"
            if shared
            else "  other people: sign up at /hub/signup; approve them at /hub/authorize\n"
        )
        banner = (
            "\n" + "=" * 72 + "\n"
            "First run: login credentials created (shown only this once)\n"
            f"  admin:        user {creds['admin_user']!r}, password {creds['admin_password']}\n"
            f"{others}"
            f"  kept in {path} (mode 0600)\n" + "=" * 72 + "\n"
        )
        print(banner, file=sys.stderr, flush=True)
    return creds
