"""Fixtures shared by the backend suites: real unix accounts and hub helpers."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import time
from collections.abc import Callable

import pytest
import requests

from tests.support.dockerd import in_ci
from tests.support.hub import Hub


def ensure_unix_user(name: str) -> str:
    """A real unix account with a home (Slurm jobs run as hub users' accounts)."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        reason = "needs root and useradd to create the users' unix accounts"
        pytest.fail(reason) if in_ci() else pytest.skip(reason)
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--create-home", "--shell", "/bin/bash", name],
            check=True,
            capture_output=True,
        )
    return name


def progress_messages(
    hub: Hub, user: str, until: Callable[[str], bool], timeout: float = 60
) -> list[str]:
    """Read the server's progress event stream until a message satisfies ``until``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    with requests.get(
        f"{hub.url}/hub/api/users/{user}/server/progress",
        headers={"Authorization": f"token {hub.token}"},
        stream=True,
        timeout=timeout,
    ) as r:
        r.raise_for_status()
        for line in r.iter_lines(decode_unicode=True):
            if time.monotonic() > deadline:
                break
            if not line or not line.startswith("data:"):
                continue
            message = json.loads(line[5:]).get("message", "")
            seen.append(message)
            if until(message):
                return seen
    raise AssertionError(f"no matching progress message; saw {seen}")


def stop_all_servers(hub: Hub) -> None:
    r = hub.get("/users")
    if r.status_code != 200:
        return
    for user in r.json():
        for server_name in user.get("servers") or {}:
            path = (
                f"/users/{user['name']}/servers/{server_name}"
                if server_name
                else (f"/users/{user['name']}/server")
            )
            hub.delete(path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        users = hub.get("/users").json()
        if not any(u.get("servers") for u in users):
            return
        time.sleep(0.3)
