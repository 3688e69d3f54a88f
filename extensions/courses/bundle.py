"""A lab as data: relative POSIX paths -> file contents, with the checks that keep a
bundle inside its folder. Used by the service (publish, hand-in) and the puller."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

MAX_FILES = 500
MAX_BYTES = 50 * 10**6
"""A lab or a hand-in is notebooks and small data; larger data belongs in the model store."""

SKIPPED_DIRS = frozenset({".ipynb_checkpoints", "__pycache__", ".git", "node_modules"})


class BundleError(ValueError):
    """A bundle that cannot be accepted; the message is safe to show."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_path(path: str) -> str:
    """A safe relative path, or BundleError. Hidden parts are refused: the puller keeps
    its state in a hidden file and checkpoints are not part of a lab."""
    if not isinstance(path, str) or not path or "\\" in path or "\0" in path:
        raise BundleError("file paths must be non-empty relative POSIX paths")
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(p in ("", ".", "..") or p.startswith(".") for p in pure.parts):
        raise BundleError(f"refused file path {path[:80]!r}")
    if len(pure.parts) > 8 or len(path) > 255:
        raise BundleError(f"file path too deep or long: {path[:80]!r}")
    return pure.as_posix()


def check_bundle(files: Mapping[str, bytes]) -> dict[str, bytes]:
    if len(files) > MAX_FILES:
        raise BundleError(f"at most {MAX_FILES} files")
    if not files:
        raise BundleError("the folder has no files")
    total = sum(len(v) for v in files.values())
    if total > MAX_BYTES:
        raise BundleError(f"at most {MAX_BYTES // 10**6} MB in all")
    return {check_path(k): v for k, v in files.items()}


def read_folder(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` (no symlinks, no hidden files, no checkpoints)."""
    if not root.is_dir():
        raise BundleError("no such folder")
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(p.startswith(".") or p in SKIPPED_DIRS for p in rel.parts):
            continue
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        total += len(data)
        if total > MAX_BYTES or len(files) >= MAX_FILES:
            raise BundleError(
                f"the folder is too large (at most {MAX_FILES} files, {MAX_BYTES // 10**6} MB)"
            )
        files[rel.as_posix()] = data
    return check_bundle(files)


def encode(files: Mapping[str, bytes]) -> dict[str, str]:
    return {k: base64.b64encode(v).decode() for k, v in files.items()}


def decode(payload: object) -> dict[str, bytes]:
    if not isinstance(payload, dict):
        raise BundleError("'files' must be an object of path -> base64 content")
    out: dict[str, bytes] = {}
    for k, v in payload.items():
        if not isinstance(v, str):
            raise BundleError("file contents must be base64 strings")
        try:
            out[k] = base64.b64decode(v, validate=True)
        except ValueError:
            raise BundleError(f"file {str(k)[:80]!r} is not valid base64") from None
    return check_bundle(out)


def write_files(root: Path, files: Mapping[str, bytes]) -> None:
    """Write a checked bundle under ``root``, creating folders."""
    for rel, data in files.items():
        target = root / check_path(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
