"""Pulling a lab into a home on disk: create, update, keep edits, restore deletions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extensions.courses.bundle import BundleError, encode
from extensions.courses.puller import (
    STATE_FILE,
    known_versions,
    lab_folder,
    local_status,
    pull_all,
    pull_lab,
)


def lab(version: int, files: dict[str, bytes]) -> dict:
    return {"course": "ml101", "name": "lab1", "version": version, "files": encode(files)}


def summary(home: Path, published: dict) -> dict:
    return [e for e in pull_lab(home, published) if e.get("summary")][-1]


def test_first_pull_then_update_keeps_the_students_edit(tmp_path: Path) -> None:
    folder = tmp_path / "ml101" / "lab1"
    v1 = {"intro.ipynb": b"v1 intro", "data/x.csv": b"1,2"}
    first = summary(tmp_path, lab(1, v1))
    assert sorted(first["written"]) == ["data/x.csv", "intro.ipynb"]
    assert (folder / "data" / "x.csv").read_bytes() == b"1,2"

    (folder / "intro.ipynb").write_bytes(b"my answers")
    assert local_status(tmp_path, "ml101", "lab1")["edited"] == ["intro.ipynb"]
    v2 = {"intro.ipynb": b"v2 intro", "data/x.csv": b"1,2,3", "extra.ipynb": b"new"}
    second = summary(tmp_path, lab(2, v2))
    assert second["kept"] == ["intro.ipynb"]
    assert sorted(second["written"]) == ["data/x.csv", "extra.ipynb"]
    assert (folder / "intro.ipynb").read_bytes() == b"my answers"
    assert (folder / "data" / "x.csv").read_bytes() == b"1,2,3"
    state = json.loads((folder / STATE_FILE).read_text())
    assert state["version"] == 2
    assert local_status(tmp_path, "ml101", "lab1") == {
        "pulled_version": 2,
        "edited": ["intro.ipynb"],
        "present": True,
    }


def test_a_deleted_file_comes_back_and_a_pull_is_idempotent(tmp_path: Path) -> None:
    files = {"a.ipynb": b"a"}
    summary(tmp_path, lab(1, files))
    (tmp_path / "ml101" / "lab1" / "a.ipynb").unlink()
    events = list(pull_lab(tmp_path, lab(1, files)))
    assert events[0]["action"] == "restore"
    assert summary(tmp_path, lab(1, files))["written"] == []


def test_a_students_own_file_with_the_same_name_is_kept(tmp_path: Path) -> None:
    folder = tmp_path / "ml101" / "lab1"
    folder.mkdir(parents=True)
    (folder / "a.ipynb").write_bytes(b"mine")
    assert summary(tmp_path, lab(1, {"a.ipynb": b"theirs"}))["kept"] == ["a.ipynb"]
    assert (folder / "a.ipynb").read_bytes() == b"mine"


def test_a_symlink_cannot_send_a_pull_outside_the_home(tmp_path: Path) -> None:
    home, outside = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    outside.mkdir()
    (home / "ml101").symlink_to(outside, target_is_directory=True)
    (outside / "lab1").mkdir()
    with pytest.raises(BundleError):
        lab_folder(home, "ml101", "lab1")
    results = pull_all(home, [lab(1, {"a.ipynb": b"x"})])
    assert "outside your home" in results[0]["error"]
    assert not (outside / "lab1" / "a.ipynb").exists()


def test_hostile_bundles_are_refused(tmp_path: Path) -> None:
    for path in ("../escape.ipynb", "/etc/passwd", ".hidden", "a/../../b"):
        results = pull_all(tmp_path, [lab(1, {path: b"x"})])
        assert results[0]["error"], path
    assert pull_all(tmp_path, [dict(lab(1, {"a": b"x"}), course="../x")])[0]["error"]
    assert not (tmp_path.parent / "escape.ipynb").exists()


def test_known_versions_and_unchanged_labs(tmp_path: Path) -> None:
    summary(tmp_path, lab(3, {"a.ipynb": b"a"}))
    (tmp_path / "notes").mkdir()
    assert known_versions(tmp_path) == {"ml101/lab1": 3}
    unchanged = {"course": "ml101", "name": "lab1", "version": 3, "unchanged": True}
    (tmp_path / "ml101" / "lab1" / "a.ipynb").unlink()
    assert pull_all(tmp_path, [unchanged])[0]["unchanged"] is True
    assert not (tmp_path / "ml101" / "lab1" / "a.ipynb").exists()  # a full pull restores it
