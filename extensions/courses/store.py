"""The service's store of published labs and hand-ins, on the hub's disk.

    <root>/<course>/labs/<lab>/lab.json          what is published now (version, due, hashes)
    <root>/<course>/labs/<lab>/v<N>/...          the files of each published version
    <root>/<course>/submissions/<lab>/<student>/<id>/...   one hand-in (+ submission.json)

Writes go to a temporary name and are renamed into place, so a reader never sees half
a lab; a write that fails removes what it made (temporary folder, new folders). Names
are checked by the caller (roles.valid_name); paths and quotas by bundle and limits."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .bundle import sha256, write_files

Clock = Callable[[], float]
_SAFE_USER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}")
SUBMISSION_META = "submission.json"


class NotFound(LookupError):
    pass


def user_dir(name: str) -> str:
    """A folder name for a hub user: the name itself when it is a safe one."""
    if _SAFE_USER.fullmatch(name):
        return name
    return "_" + hashlib.sha256(name.encode()).hexdigest()[:24]


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def parse_due(text: str | None) -> float | None:
    """ISO 8601 -> unix seconds. A time without an offset is read as UTC."""
    if text in (None, ""):
        return None
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("due must be an ISO 8601 date and time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def _made(path: Path) -> Iterator[Path]:
    """``mkdir -p path``; when the block fails, the folders this made go again (empty ones
    only: another lab or student may have arrived in a parent)."""
    created = []
    p = path
    while not p.exists():
        created.append(p)
        p = p.parent
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    except BaseException:
        for d in created:  # deepest first
            with suppress(OSError):
                d.rmdir()
        raise


@contextmanager
def _temporary(path: Path) -> Iterator[Path]:
    """A fresh temporary folder, removed unless the block moved it into place."""
    shutil.rmtree(path, ignore_errors=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class CourseStore:
    root: Path
    clock: Clock = time.time

    # --- labs --------------------------------------------------------------------

    def _lab_dir(self, course: str, lab: str) -> Path:
        return self.root / course / "labs" / lab

    def lab(self, course: str, lab: str) -> dict[str, Any]:
        meta = self._lab_dir(course, lab) / "lab.json"
        try:
            return json.loads(meta.read_text())
        except FileNotFoundError:
            raise NotFound(f"no lab {lab!r} in {course!r}") from None

    def labs(self, course: str) -> list[dict[str, Any]]:
        base = self.root / course / "labs"
        if not base.is_dir():
            return []
        found = []
        for d in sorted(base.iterdir()):
            meta = d / "lab.json"
            if meta.is_file():
                found.append(json.loads(meta.read_text()))
        return found

    def publish(
        self,
        course: str,
        lab: str,
        files: Mapping[str, bytes],
        *,
        by: str,
        title: str = "",
        due: float | None = None,
        source: str = "",
    ) -> dict[str, Any]:
        """Publish ``files`` (a checked bundle) as the next version of ``lab`` (the first
        is version 1)."""
        try:
            version = self.lab(course, lab)["version"] + 1
        except NotFound:
            version = 1
        now = self.clock()
        meta = {
            "course": course,
            "name": lab,
            "title": title or lab,
            "version": version,
            "due": due,
            "due_iso": iso(due),
            "published_at": now,
            "published_iso": iso(now),
            "published_by": by,
            "source": source,
            "files": {k: sha256(v) for k, v in sorted(files.items())},
        }
        with _made(self._lab_dir(course, lab)) as d, _temporary(d / f".v{version}.tmp") as tmp:
            write_files(tmp, files)
            os.replace(tmp, d / f"v{version}")
            try:
                _write_json(d / "lab.json", meta)
            except BaseException:
                shutil.rmtree(d / f"v{version}", ignore_errors=True)
                raise
        return meta

    def lab_paths(self, course: str, lab: str) -> tuple[dict[str, Any], dict[str, Path]]:
        """The published version's metadata and where each of its files is. A version's
        folder never changes once published, so a reader may take its time."""
        meta = self.lab(course, lab)
        base = self._lab_dir(course, lab) / f"v{meta['version']}"
        return meta, {p: base / p for p in sorted(meta["files"])}

    # --- hand-ins ----------------------------------------------------------------

    def _student_dir(self, course: str, lab: str, student: str) -> Path:
        return self.root / course / "submissions" / lab / user_dir(student)

    def submit(
        self, course: str, lab: str, student: str, files: Mapping[str, bytes]
    ) -> dict[str, Any]:
        """Keep ``files`` (a checked bundle) as a new hand-in."""
        meta = self.lab(course, lab)
        now = self.clock()
        sid = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        record = {
            "course": course,
            "lab": lab,
            "student": student,
            "submitted_at": now,
            "submitted_iso": iso(now),
            "due": meta["due"],
            "late": meta["due"] is not None and now > meta["due"],
            "lab_version": meta["version"],
            "files": sorted(files),
            "bytes": sum(len(v) for v in files.values()),
        }
        with _made(self._student_dir(course, lab, student)) as base:
            n = 0
            while (base / sid).exists() or (base / f".{sid}.tmp").exists():
                n += 1
                sid = sid.split("-")[0] + f"-{n}"
            record["id"] = sid
            with _temporary(base / f".{sid}.tmp") as tmp:
                write_files(tmp, files)
                (tmp / SUBMISSION_META).write_text(json.dumps(record, indent=1, sort_keys=True))
                os.replace(tmp, base / sid)
        return record

    def submissions(
        self, course: str, lab: str, student: str | None = None
    ) -> list[dict[str, Any]]:
        """Hand-ins of one lab, newest first; only ``student``'s when given."""
        base = self.root / course / "submissions" / lab
        dirs = [self._student_dir(course, lab, student)] if student else _subdirs(base)
        records = []
        for sdir in dirs:
            for sub in _subdirs(sdir):
                meta = sub / SUBMISSION_META
                if meta.is_file():
                    records.append(json.loads(meta.read_text()))
        return sorted(records, key=lambda r: (r["submitted_at"], r["student"]), reverse=True)

    def course_submissions(self, course: str) -> list[dict[str, Any]]:
        """Every hand-in record of every lab of ``course`` (for its quotas)."""
        records = []
        for lab_dir in _subdirs(self.root / course / "submissions"):
            records += self.submissions(course, lab_dir.name)
        return records

    def submission_zip(self, course: str, lab: str, student: str, sid: str) -> bytes:
        if not re.fullmatch(r"[0-9T.Z-]{8,40}", sid):
            raise NotFound("no such submission")
        sub = self._student_dir(course, lab, student) / sid
        if not (sub / SUBMISSION_META).is_file():
            raise NotFound("no such submission")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(sub.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    z.write(path, f"{user_dir(student)}/{sid}/{path.relative_to(sub).as_posix()}")
        return buf.getvalue()


def _subdirs(path: Path) -> list[Path]:
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
