"""What a test needs from the machine: missing, it skips on a developer's machine and
fails in CI (CI=true), where every component must be there."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def missing(what: str) -> None:
    if in_ci():
        pytest.fail(f"{what} is required in CI", pytrace=False)
    pytest.skip(f"{what} is not available here")


def require_root(why: str) -> None:
    if os.geteuid() != 0:
        missing(f"root ({why})")
