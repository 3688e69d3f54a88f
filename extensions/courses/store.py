"""The service's store of published labs and hand-ins, on the hub's disk.

    <root>/<course>/labs/<lab>/lab.json          what is published now (version, due, hashes)
    <root>/<course>/labs/<lab>/v<N>/...          the files of each published version
    <root>/<course>/submissions/<lab>/<student>/<id>/...   one hand-in (+ submission.json)

Writes go to a temporary name and are renamed into place, so a reader never sees half
a lab. Names are checked by the caller (roles.valid_name); paths by bundle."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import time
import zipfile
from collections.abc import Callable, Mapping
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
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


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
        """Publish ``files`` as the next version of ``lab`` (the first is version 1)."""
        d = self._lab_dir(course, lab)
        d.mkdir(parents=True, exist_ok=True)
        try:
            version = self.lab(course, lab)["version"] + 1
        except NotFound:
            version = 1
        tmp = d / f".v{version}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        write_files(tmp, files)
        os.replace(tmp, d / f"v{version}")
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
        _write_json(d / "lab.json", meta)
        return meta

    def lab_files(self, course: str, lab: str) -> tuple[dict[str, Any], dict[str, bytes]]:
        meta = self.lab(course, lab)
        base = self._lab_dir(course, lab) / f"v{meta['version']}"
        return meta, {p: (base / p).read_bytes() for p in meta["files"]}

    # --- hand-ins ----------------------------------------------------------------

    def _student_dir(self, course: str, lab: str, student: str) -> Path:
        return self.root / course / "submissions" / lab / user_dir(student)

    def submit(
        self, course: str, lab: str, student: str, files: Mapping[str, bytes]
    ) -> dict[str, Any]:
        meta = self.lab(course, lab)
        now = self.clock()
        sid = datetime.fromtimestamp(now, UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        base = self._student_dir(course, lab, student)
        base.mkdir(parents=True, exist_ok=True)
        n = 0
        while (base / sid).exists() or (base / f".{sid}.tmp").exists():
            n += 1
            sid = sid.split("-")[0] + f"-{n}"
        tmp = base / f".{sid}.tmp"
        write_files(tmp, files)
        record = {
            "id": sid,
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
