"""Applies a published lab to a user's home with the nbgitpuller rule (see merge.py);
``merge_folder`` also brings the tutorials into ~/tutorials (sandbox_server/tutorials.py).

Runs inside the user's own server (the server extension calls it at start and on a
pull), so files are written by the user, in whatever engine runs the server. The core
is a generator of progress steps that knows nothing of the web."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .bundle import BundleError, check_path, sha256
from .merge import Action, Step, next_state, plan_pull
from .roles import valid_name

STATE_FILE = ".sandbox-lab.json"
"""Per lab folder: the version and the hash of every file the last pull wrote."""


def lab_folder(home: Path, course: str, lab: str) -> Path:
    if not (valid_name(course) and valid_name(lab)):
        raise BundleError("bad course or lab name")
    folder = home / course / lab
    # A student's symlink must not send a pull (or a hand-in) outside their home.
    resolved_home = home.resolve()
    if folder.exists() and not folder.resolve().is_relative_to(resolved_home):
        raise BundleError(f"{course}/{lab} points outside your home")
    return folder


def read_state(folder: Path) -> dict[str, Any]:
    try:
        state = json.loads((folder / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {"version": 0, "files": {}}
    return state if isinstance(state.get("files"), dict) else {"version": 0, "files": {}}


def _on_disk(folder: Path, paths: Iterable[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for p in paths:
        f = folder / p
        out[p] = sha256(f.read_bytes()) if f.is_file() and not f.is_symlink() else None
    return out


def _write(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.pulling")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def merge_folder(
    folder: Path, contents: Mapping[str, bytes], record: Mapping[str, Any]
) -> Iterator[Step]:
    """Apply ``contents`` (relative path -> bytes) to ``folder`` with the nbgitpuller
    rule, yielding each step as it is done, then remember what was written in
    ``folder/STATE_FILE`` with ``record`` (what the folder holds: a lab's course, name
    and version; the tutorials' source). Used by the course labs and the tutorials."""
    published = {p: sha256(b) for p, b in contents.items()}
    last = {k: v for k, v in read_state(folder)["files"].items() if isinstance(v, str)}
    steps = plan_pull(published, last, _on_disk(folder, published))
    for step in steps:
        if step.writes:
            _write(folder / step.path, contents[step.path])
        yield step
    folder.mkdir(parents=True, exist_ok=True)
    state = {**record, "files": next_state(published, last, steps)}
    _write(folder / STATE_FILE, json.dumps(state, indent=1, sort_keys=True).encode())


def pull_lab(home: Path, lab: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield one event per file ({"path", "action"}), then a summary event."""
    course, name = lab["course"], lab["name"]
    folder = lab_folder(home, course, name)
    contents = {check_path(p): base64.b64decode(b) for p, b in lab["files"].items()}
    previous = read_state(folder).get("version", 0)
    steps = []
    record = {"course": course, "lab": name, "version": lab["version"]}
    for step in merge_folder(folder, contents, record):
        steps.append(step)
        yield {"course": course, "lab": name, "path": step.path, "action": step.action.value}
    yield {
        "course": course,
        "lab": name,
        "summary": True,
        "version": lab["version"],
        "previous_version": previous,
        "kept": [s.path for s in steps if s.action is Action.KEEP],
        "written": [s.path for s in steps if s.writes],
    }


def known_versions(home: Path) -> dict[str, int]:
    """ "course/lab" -> the version this home last pulled, for every lab folder in it."""
    known = {}
    for state_file in home.glob(f"*/*/{STATE_FILE}"):
        course, lab = state_file.parent.parent.name, state_file.parent.name
        if valid_name(course) and valid_name(lab):
            version = read_state(state_file.parent).get("version")
            if isinstance(version, int) and version > 0:
                known[f"{course}/{lab}"] = version
    return known


def pull_all(home: Path, labs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pull every lab; one summary per lab (an error for one lab does not stop the rest).
    A lab the service marked ``unchanged`` (this home has its version) is left as it is."""
    results = []
    for lab in labs:
        if lab.get("unchanged"):
            results.append(
                {"course": lab.get("course"), "lab": lab.get("name"), "version": lab.get("version"),
                 "unchanged": True, "written": [], "kept": []}
            )  # fmt: skip
            continue
        try:
            summary = [e for e in pull_lab(home, lab) if e.get("summary")][-1]
        except (BundleError, OSError, KeyError, ValueError) as e:
            summary = {
                "course": lab.get("course"),
                "lab": lab.get("name"),
                "error": str(e) if isinstance(e, BundleError) else type(e).__name__,
            }
        results.append(summary)
    return results


def local_status(home: Path, course: str, lab: str) -> dict[str, Any]:
    """What this home holds of a lab: pulled version and which files the user edited."""
    try:
        folder = lab_folder(home, course, lab)
    except BundleError:
        return {"pulled_version": 0, "edited": []}
    state = read_state(folder)
    recorded = {k: v for k, v in state["files"].items() if isinstance(v, str)}
    disk = _on_disk(folder, recorded)
    edited = sorted(p for p, h in recorded.items() if disk.get(p) not in (None, h))
    return {"pulled_version": state.get("version", 0), "edited": edited, "present": folder.is_dir()}
