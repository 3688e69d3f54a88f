"""Describing processes for people: who runs what is left on a stopped server's slice."""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterable


def process_owners(pids: Iterable[int]) -> list[str]:
    """``<pid> (<account>)`` for each process still alive, for the capacity page."""
    out = []
    for pid in sorted(pids):
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        try:
            owner = pwd.getpwuid(uid).pw_name
        except KeyError:
            owner = f"uid {uid}"
        out.append(f"{pid} ({owner})")
    return out
