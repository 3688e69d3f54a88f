#!/usr/bin/env python3
"""Fill, check and lock the read-only model store from an image's model manifest.

    preload.py fetch  --manifest images/speech/models.yaml --store /opt/models
    preload.py verify --manifest images/speech/models.yaml --store /opt/models
    preload.py lock   --manifest images/speech/models.yaml   (rewrites the manifest)

`fetch` runs on a build host with internet access (or against a mirror given as
--hub-url file:///mirror, laid out as <id>/resolve/<revision>/<path>). Every file is
streamed to a temporary name, hashed, and only renamed into place when its sha256 and
size match the manifest; a mismatch deletes the download and fails the run. A file whose
hash is not pinned yet (sha256: null) is refused: run `lock` first and review the diff,
as one would a pip-compile lock. Nothing here trusts the network for integrity.

Store layout: <store>/<model id>/<file>, plus <store>/<model id>/.sandbox-model.json
(id, revision, license), which the notebooks read to say what they loaded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_HUB = "https://huggingface.co"
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
REVISION_RE = re.compile(r"^[0-9a-f]{40}$")
MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
STAMP = ".sandbox-model.json"
CHUNK = 1 << 20


class ManifestError(ValueError):
    """The manifest is malformed: a human must fix it."""


class IntegrityError(RuntimeError):
    """A downloaded or stored file does not match its pinned hash or size."""


class NotLockedError(RuntimeError):
    """The manifest has entries without a pinned revision or hash."""


@dataclass(frozen=True)
class FileEntry:
    path: str
    sha256: str | None
    size: int | None


@dataclass(frozen=True)
class ModelEntry:
    id: str
    revision: str | None
    license: str
    files: tuple[FileEntry, ...]

    @property
    def locked(self) -> bool:
        return self.revision is not None and all(f.sha256 for f in self.files)


def validate_manifest(data: object) -> list[str]:
    """Every problem in a parsed manifest, as readable strings (empty when valid)."""
    errors: list[str] = []
    if not isinstance(data, dict):
        return ["manifest must be a mapping"]
    if data.get("schema") != 1:
        errors.append("schema: must be 1")
    if not isinstance(data.get("image"), str):
        errors.append("image: must be a string")
    models = data.get("models")
    if not isinstance(models, list):
        return [*errors, "models: must be a list"]
    seen: set[str] = set()
    for i, model in enumerate(models):
        where = f"models[{i}]"
        if not isinstance(model, dict):
            errors.append(f"{where}: must be a mapping")
            continue
        unknown = set(model) - {"id", "revision", "license", "size", "task", "source", "files"}
        if unknown:
            errors.append(f"{where}: unknown keys {sorted(unknown)}")
        mid = model.get("id")
        if not isinstance(mid, str) or not MODEL_ID_RE.match(mid):
            errors.append(f"{where}.id: must look like 'org/name'")
        elif mid in seen:
            errors.append(f"{where}.id: duplicate {mid}")
        else:
            seen.add(mid)
        rev = model.get("revision")
        if rev is not None and (not isinstance(rev, str) or not REVISION_RE.match(rev)):
            errors.append(f"{where}.revision: must be a 40-hex commit or null (unlocked)")
        for key in ("license", "size", "task"):
            if not isinstance(model.get(key), str) or not model.get(key):
                errors.append(f"{where}.{key}: required string")
        files = model.get("files")
        if not isinstance(files, list) or not files:
            errors.append(f"{where}.files: must be a non-empty list")
            continue
        paths: set[str] = set()
        for j, entry in enumerate(files):
            fwhere = f"{where}.files[{j}]"
            if not isinstance(entry, dict) or set(entry) - {"path", "sha256", "size"}:
                errors.append(f"{fwhere}: must have only path, sha256, size")
                continue
            path = entry.get("path")
            if (
                not isinstance(path, str)
                or not path
                or path.startswith("/")
                or ".." in Path(path).parts
            ):
                errors.append(f"{fwhere}.path: must be a relative path inside the repo")
            elif path in paths:
                errors.append(f"{fwhere}.path: duplicate {path}")
            else:
                paths.add(path)
            sha = entry.get("sha256")
            if sha is not None and (not isinstance(sha, str) or not SHA256_RE.match(sha)):
                errors.append(f"{fwhere}.sha256: must be 64 lowercase hex digits or null")
            size = entry.get("size")
            if size is not None and (not isinstance(size, int) or size < 0):
                errors.append(f"{fwhere}.size: must be a non-negative integer or null")
            if sha is not None and size is None:
                errors.append(f"{fwhere}.size: a pinned sha256 needs its size")
    return errors


def load_manifest(path: Path) -> tuple[dict, list[ModelEntry]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    errors = validate_manifest(data)
    if errors:
        raise ManifestError(f"{path}: " + "; ".join(errors))
    models = [
        ModelEntry(
            id=m["id"],
            revision=m.get("revision"),
            license=m["license"],
            files=tuple(FileEntry(f["path"], f.get("sha256"), f.get("size")) for f in m["files"]),
        )
        for m in data["models"]
    ]
    return data, models


def sha256_of(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_url(hub: str, model: ModelEntry, entry: FileEntry) -> str:
    quoted = urllib.parse.quote(entry.path)
    return f"{hub.rstrip('/')}/{model.id}/resolve/{model.revision}/{quoted}"


def _download(url: str, dest_dir: Path) -> tuple[Path, str, int]:
    """Stream url into a temp file in dest_dir; return (path, sha256, size)."""
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            for chunk in iter(lambda: resp.read(CHUNK), b""):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp), digest.hexdigest(), size


def fetch_model(model: ModelEntry, store: Path, hub: str, log=print) -> None:
    if not model.locked:
        raise NotLockedError(
            f"{model.id}: revision or sha256 not pinned; run `preload.py lock` on a host "
            "that can reach the hub, review the manifest diff and commit it"
        )
    target = store / model.id
    for entry in model.files:
        dest = target / entry.path
        if dest.is_file() and sha256_of(dest) == entry.sha256:
            log(f"ok     {model.id}/{entry.path} (already present)")
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp, digest, size = _download(file_url(hub, model, entry), dest.parent)
        if digest != entry.sha256 or (entry.size is not None and size != entry.size):
            tmp.unlink(missing_ok=True)
            raise IntegrityError(
                f"{model.id}/{entry.path}: got sha256 {digest} ({size} bytes), manifest "
                f"pins {entry.sha256} ({entry.size} bytes); refusing it"
            )
        tmp.chmod(0o444)
        tmp.replace(dest)
        log(f"fetched {model.id}/{entry.path} ({size} bytes, sha256 verified)")
    stamp = {"id": model.id, "revision": model.revision, "license": model.license}
    (target / STAMP).write_text(json.dumps(stamp, indent=1) + "\n", encoding="utf-8")


def verify_model(model: ModelEntry, store: Path) -> list[str]:
    """Problems with one model in the store (empty when every file matches)."""
    problems = []
    for entry in model.files:
        path = store / model.id / entry.path
        if not path.is_file():
            problems.append(f"{model.id}/{entry.path}: missing")
        elif entry.sha256 is None:
            problems.append(f"{model.id}/{entry.path}: not pinned in the manifest")
        elif sha256_of(path) != entry.sha256:
            problems.append(f"{model.id}/{entry.path}: sha256 mismatch")
    return problems


def _hub_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return json.load(resp)


def lock_manifest(path: Path, hub: str, log=print) -> None:
    """Pin revisions (branch -> commit) and every file's sha256 and size, in place.

    Needs the hub. An already pinned hash that differs from what the hub serves is an
    error, never silently overwritten.
    """
    data, models = load_manifest(path)
    for raw, model in zip(data["models"], models, strict=True):
        rev = model.revision or "main"
        info = _hub_json(f"{hub.rstrip('/')}/api/models/{model.id}/revision/{rev}")
        raw["revision"] = info["sha"]
        pinned = ModelEntry(model.id, info["sha"], model.license, model.files)
        with tempfile.TemporaryDirectory() as tmp:
            for raw_file, entry in zip(raw["files"], model.files, strict=True):
                part, digest, size = _download(file_url(hub, pinned, entry), Path(tmp))
                part.unlink()
                if entry.sha256 and entry.sha256 != digest:
                    raise IntegrityError(f"{model.id}/{entry.path}: hub serves {digest}")
                raw_file["sha256"], raw_file["size"] = digest, size
                log(f"locked {model.id}/{entry.path} {digest}")
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")


def _models(args: argparse.Namespace) -> Iterable[ModelEntry]:
    _, models = load_manifest(Path(args.manifest))
    return models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("fetch", "verify", "lock"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--manifest", required=True, action="append")
        if name != "lock":
            cmd.add_argument("--store", default=os.environ.get("SANDBOX_MODELS", "/opt/models"))
        if name != "verify":
            cmd.add_argument("--hub-url", default=os.environ.get("SANDBOX_HUB_URL", DEFAULT_HUB))
    args = parser.parse_args(argv)
    try:
        for manifest in args.manifest:
            if args.command == "lock":
                lock_manifest(Path(manifest), args.hub_url)
                continue
            models = list(_models(argparse.Namespace(manifest=manifest)))
            store = Path(args.store)
            if args.command == "fetch":
                for model in models:
                    fetch_model(model, store, args.hub_url)
            else:
                problems = [p for m in models for p in verify_model(m, store)]
                for problem in problems:
                    print(problem, file=sys.stderr)
                if problems:
                    return 1
                print(f"{manifest}: {len(models)} model(s) verified")
    except (ManifestError, IntegrityError, NotLockedError) as exc:
        print(f"preload: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
