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


def login_credentials(data_dir: Path, admin_name: str) -> dict[str, str]:
    """The embedded default's passwords: the admin's, and one shared by other users.

    Shown once, on the run that creates them; afterwards they are only in the file."""
    path = data_dir / "credentials.json"
    if not path.exists():
        creds = {
            "admin_user": admin_name,
            "admin_password": secrets.token_urlsafe(30),
            "user_password": secrets.token_urlsafe(18),
        }
        try:
            _write_private(path, json.dumps(creds, indent=2) + "\n")
        except FileExistsError:
            return json.loads(path.read_text(encoding="utf-8"))
        banner = (
            "\n" + "=" * 72 + "\n"
            "First run: login credentials created (shown only this once)\n"
            f"  admin:        user {admin_name!r}, password {creds['admin_password']}\n"
            f"  other users:  any user name, password {creds['user_password']}\n"
            f"  kept in {path} (mode 0600)\n" + "=" * 72 + "\n"
        )
        print(banner, file=sys.stderr, flush=True)
        return creds
    return json.loads(path.read_text(encoding="utf-8"))
