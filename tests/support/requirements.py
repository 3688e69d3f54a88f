"""What a test needs from the machine: missing, it skips on a developer's machine and
fails in CI (CI=true), where every component must be there."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def missing(what: str) -> NoReturn:
    """``what`` (a component, or why it cannot be had) is missing: skip, or fail in CI."""
    if in_ci():
        pytest.fail(
            f"{what}: CI must provide it (scripts/install-system-packages.sh)", pytrace=False
        )
    pytest.skip(f"{what}: not available here")


def require_tool(*commands: str, why: str = "") -> None:
    """Every command on PATH, or ``missing``."""
    absent = [c for c in commands if shutil.which(c) is None]
    if absent:
        missing(f"missing {', '.join(absent)}" + (f" ({why})" if why else ""))


def require_root(why: str) -> None:
    if os.geteuid() != 0:
        missing(f"root ({why})")
