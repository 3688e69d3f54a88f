"""The service's store: versions, hand-ins with late marking, zips, hostile input."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from extensions.courses.bundle import BundleError, check_bundle, decode, encode, read_folder
from extensions.courses.store import CourseStore, NotFound, parse_due, user_dir


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_publish_versions_and_late_hand_ins(tmp_path: Path) -> None:
    clock = Clock(1000.0)
    store = CourseStore(tmp_path, clock)
    meta = store.publish("ml101", "lab1", {"a.ipynb": b"1"}, by="prof", due=2000.0)
    assert meta["version"] == 1 and meta["due_iso"].startswith("1970-01-01T00:33:20")
    assert store.publish("ml101", "lab1", {"a.ipynb": b"2"}, by="prof", due=2000.0)["version"] == 2
    meta, paths = store.lab_paths("ml101", "lab1")
    assert meta["version"] == 2 and paths["a.ipynb"].read_bytes() == b"2"

    on_time = store.submit("ml101", "lab1", "stud", {"a.ipynb": b"answer"})
    clock.now = 2500.0
    late = store.submit("ml101", "lab1", "stud", {"a.ipynb": b"better"})
    store.submit("ml101", "lab1", "other", {"a.ipynb": b"x"})
    assert (on_time["late"], late["late"]) == (False, True)
    assert late["lab_version"] == 2
    mine = store.submissions("ml101", "lab1", "stud")
    assert [s["id"] for s in mine] == [late["id"], on_time["id"]]
    assert {s["student"] for s in store.submissions("ml101", "lab1")} == {"stud", "other"}

    data = store.submission_zip("ml101", "lab1", "stud", on_time["id"])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.read(f"stud/{on_time['id']}/a.ipynb") == b"answer"
    with pytest.raises(NotFound):
        store.submission_zip("ml101", "lab1", "stud", "../../x")
    with pytest.raises(NotFound):
        store.lab("ml101", "nope")


def test_hand_ins_in_the_same_instant_do_not_collide(tmp_path: Path) -> None:
    store = CourseStore(tmp_path, Clock(5.0))
    store.publish("c", "l", {"a": b"1"}, by="p")
    ids = {store.submit("c", "l", "s", {"a": b"x"})["id"] for _ in range(3)}
    assert len(ids) == 3


def test_user_dirs_are_safe() -> None:
    assert user_dir("alice@example.org") == "alice@example.org"
    for hostile in ("../x", ".hidden", "a/b", "ü"):
        name = user_dir(hostile)
        assert name.startswith("_") and "/" not in name and ".." not in name


def test_due_dates() -> None:
    assert parse_due(None) is None and parse_due("") is None
    assert parse_due("1970-01-01T01:00:00Z") == 3600.0
    assert parse_due("1970-01-01T01:00:00") == 3600.0  # no offset: UTC
    assert parse_due("1970-01-01T02:00:00+01:00") == 3600.0
    with pytest.raises(ValueError):
        parse_due("tomorrow")


def test_bundles_refuse_escapes_and_skip_checkpoints(tmp_path: Path) -> None:
    for bad in ("../x", "/abs", "a/../b", ".git/config", "a\\b", ""):
        with pytest.raises(BundleError):
            check_bundle({bad: b""})
    assert check_bundle({"a/./b": b""}) == {"a/b": b""}  # normalised, still inside
    with pytest.raises(BundleError):
        check_bundle({})
    with pytest.raises(BundleError):
        decode({"a": "not base64!"})
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text("x")
    (tmp_path / "a.ipynb").write_text("a")
    (tmp_path / "link").symlink_to("/etc/passwd")
    assert read_folder(tmp_path) == {"a.ipynb": b"a"}
    assert decode(encode({"a.ipynb": b"a"})) == {"a.ipynb": b"a"}


def test_a_file_and_a_folder_of_one_name_is_refused_before_any_write() -> None:
    for clash in ({"a": b"1", "a/b": b"2"}, {"x/a": b"1", "x/a/b/c": b"2"}):
        with pytest.raises(BundleError, match="both a file and a folder"):
            check_bundle(clash)
    with pytest.raises(BundleError, match="two files have the path"):
        check_bundle({"a/./b": b"1", "a/b": b"2"})
    assert check_bundle({"a": b"1", "ab/c": b"2"}) == {"a": b"1", "ab/c": b"2"}


def left_behind(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    """What check_bundle refuses also fails on disk: the store removes what it made."""
    store = CourseStore(tmp_path / "store", Clock(1.0))
    unwritable = {"a": b"1", "a/b": b"2"}  # not checked: the store's own clean-up is tested
    with pytest.raises(OSError):
        store.publish("ml101", "lab1", unwritable, by="prof")
    assert left_behind(tmp_path / "store") == []

    store.publish("ml101", "lab1", {"a": b"1"}, by="prof")
    before = left_behind(tmp_path / "store")
    with pytest.raises(OSError):
        store.publish("ml101", "lab1", unwritable, by="prof")
    with pytest.raises(OSError):
        store.submit("ml101", "lab1", "stud", unwritable)
    assert left_behind(tmp_path / "store") == before
    assert store.lab("ml101", "lab1")["version"] == 1 and store.submissions("ml101", "lab1") == []


def test_course_submissions_cover_every_lab(tmp_path: Path) -> None:
    store = CourseStore(tmp_path, Clock(1.0))
    for lab in ("lab1", "lab2"):
        store.publish("ml101", lab, {"a": b"1"}, by="prof")
        store.submit("ml101", lab, "stud", {"a": b"xyz"})
    store.publish("cv200", "lab1", {"a": b"1"}, by="prof")
    store.submit("cv200", "lab1", "stud", {"a": b"x"})
    records = store.course_submissions("ml101")
    assert sorted(r["lab"] for r in records) == ["lab1", "lab2"]
    assert sum(r["bytes"] for r in records) == 6
