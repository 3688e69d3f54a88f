"""A lab as data: relative POSIX paths -> file contents, with the checks that keep a
bundle inside its folder and writable as one. Used by the service (publish, hand-in)
and the user's server (reading a folder to send). Sizes are the quotas' business
(limits.py); the ceilings here only stop a reader early."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

READ_MAX_FILES = 10_000
READ_MAX_BYTES = 200 * 10**6
"""Where read_folder stops: the schema's maxima for courses.*.max_files and max_mb, so a
user's server never refuses what a site may allow; the service applies the site's own."""

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
    """The bundle with normalised paths, or BundleError: empty, two entries for one path,
    or a path that is both a file and a folder (``a`` and ``a/b``), which could not be
    written to disk."""
    if not files:
        raise BundleError("the folder has no files")
    out: dict[str, bytes] = {}
    for raw, data in files.items():
        path = check_path(raw)
        if path in out:
            raise BundleError(f"two files have the path {path[:80]!r}")
        out[path] = data
    for path in out:
        parents = PurePosixPath(path).parents
        clash = next((p.as_posix() for p in parents if p.as_posix() in out), None)
        if clash is not None:
            raise BundleError(f"{clash[:80]!r} is both a file and a folder (holding {path[:80]!r})")
    return out


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
        total += path.stat().st_size
        if total > READ_MAX_BYTES or len(files) >= READ_MAX_FILES:
            raise BundleError(
                f"the folder is too large (at most {READ_MAX_FILES} files, "
                f"{READ_MAX_BYTES // 10**6} MB)"
            )
        files[rel.as_posix()] = path.read_bytes()
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
