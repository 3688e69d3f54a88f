"""Who may do what in the courses service (pure, without the web)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extensions.courses.bundle import encode
from extensions.courses.limits import Limits
from extensions.courses.roles import Role
from extensions.courses.service import CourseError, CourseService
from extensions.courses.store import CourseStore
from extensions.courses.stream import labs_pieces

PROF = {"ml101": Role.INSTRUCTOR}
STUD = {"ml101": Role.STUDENT}
OTHER = {"cv200": Role.STUDENT}


@pytest.fixture
def service(tmp_path: Path) -> CourseService:
    notebooks = tmp_path / "notebooks"
    (notebooks / "instructor" / "lab1").mkdir(parents=True)
    (notebooks / "instructor" / "lab1" / "intro.ipynb").write_text("{}")
    (notebooks / "top.ipynb").write_text("{}")
    return CourseService(CourseStore(tmp_path / "store"), notebooks)


def refused(status: int, call, *args) -> str:
    with pytest.raises(CourseError) as e:
        call(*args)
    assert e.value.status == status
    return e.value.message


def test_only_instructors_of_the_course_publish(service: CourseService) -> None:
    body = {"name": "lab1", "repo_path": "instructor/lab1"}
    assert "Only instructors" in refused(403, service.publish, "stud", STUD, "ml101", body)
    assert "not a member" in refused(403, service.publish, "x", OTHER, "ml101", body)
    refused(403, service.repo_labs, STUD)
    assert service.repo_labs(PROF) == ["instructor/lab1"]
    meta = service.publish("prof", PROF, "ml101", body)
    assert meta["files"] == ["intro.ipynb"] and meta["source"] == "repo:instructor/lab1"


def test_publish_refuses_paths_outside_the_listing_and_bad_input(service: CourseService) -> None:
    for body in (
        {"name": "lab1", "repo_path": "../../etc"},
        {"name": "lab1", "repo_path": "."},
        {"name": "Lab 1", "repo_path": "instructor/lab1"},
        {"name": "lab1"},
        {"name": "lab1", "files": {"../x": "eA=="}},
        {"name": "lab1", "repo_path": "instructor/lab1", "due": "someday"},
    ):
        refused(400, service.publish, "prof", PROF, "ml101", body)


def test_students_hand_in_and_never_read_others(service: CourseService) -> None:
    service.publish("prof", PROF, "ml101", {"name": "lab1", "files": encode({"a": b"1"})})
    record = service.hand_in("stud", STUD, "ml101", "lab1", {"files": encode({"a": b"2"})})
    assert record["student"] == "stud"
    assert "Only instructors" in refused(403, service.submissions, STUD, "ml101", "lab1")
    refused(403, service.submission_zip, STUD, "ml101", "lab1", "stud", record["id"])
    assert "Only students" in refused(
        403, service.hand_in, "prof", PROF, "ml101", "lab1", {"files": encode({"a": b"x"})}
    )
    refused(403, service.hand_in, "x", OTHER, "ml101", "lab1", {"files": encode({"a": b"x"})})
    refused(404, service.hand_in, "stud", STUD, "ml101", "nope", {"files": encode({"a": b"x"})})
    assert [s["id"] for s in service.my_submissions("stud", STUD, "ml101", "lab1")] == [
        record["id"]
    ]
    assert service.submissions(PROF, "ml101", "lab1")[0]["id"] == record["id"]
    assert service.submission_zip(PROF, "ml101", "lab1", "stud", record["id"])


def test_members_see_labs_and_sync_only_their_courses(service: CourseService) -> None:
    service.publish("prof", PROF, "ml101", {"name": "lab1", "files": encode({"a": b"1"})})
    assert [lab.meta["name"] for lab in service.sync(STUD)] == ["lab1"]
    assert service.sync(OTHER) == []
    refused(403, service.labs, OTHER, "ml101")
    refused(403, service.bundle, OTHER, "ml101", "lab1")
    me = service.me("stud", STUD)
    assert me["courses"][0]["labs"][0]["my_submissions"] == []
    teacher = service.me("prof", PROF)["courses"][0]["labs"][0]
    assert teacher["submissions"] == 0 and "my_submissions" not in teacher


def test_sync_leaves_out_the_contents_of_labs_the_caller_has(service: CourseService) -> None:
    service.publish("prof", PROF, "ml101", {"name": "lab1", "files": encode({"a": b"1"})})
    service.publish("prof", PROF, "ml101", {"name": "lab2", "files": encode({"b": b"1"})})
    sent = service.sync(STUD, {"ml101/lab1": 1, "ml101/lab2": 7})
    labs = {lab["name"]: lab for lab in json.loads(b"".join(labs_pieces(sent)))["labs"]}
    assert labs["lab1"]["unchanged"] is True and labs["lab1"]["files"] == ["a"]
    assert "unchanged" not in labs["lab2"] and labs["lab2"]["files"] == {"b": "MQ=="}


SMALL = Limits(
    hand_in_bytes=100,
    hand_in_files=5,
    hand_ins_kept=2,
    student_bytes=150,
    course_hand_in_bytes=1000,
    lab_bytes=200,
    lab_files=5,
    labs_per_course=2,
)


@pytest.fixture
def small(service: CourseService) -> CourseService:
    service.limits = SMALL
    service.publish("prof", PROF, "ml101", {"name": "lab1", "files": encode({"a": b"1"})})
    return service


def stored(service: CourseService) -> list[str]:
    root = service.store.root
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_hand_ins_over_quota_are_refused_and_nothing_is_stored(small: CourseService) -> None:
    def hand_in(user: str, size: int, lab: str = "lab1") -> dict:
        body = {"files": encode({"a.ipynb": b"x" * size})}
        return small.hand_in(user, STUD, "ml101", lab, body)

    small.publish("prof", PROF, "ml101", {"name": "lab2", "files": encode({"a": b"1"})})
    hand_in("stud", 60)
    hand_in("stud", 60)
    before = stored(small)
    assert "ml101/lab1 2 times" in refused(409, hand_in, "stud", 1)
    assert "courses.hand_ins.max_mb" in refused(413, hand_in, "stud2", 101)
    # 120 bytes kept: 40 more in another lab passes the 150 a student may keep.
    assert "courses.hand_ins.per_student_mb" in refused(409, hand_in, "stud", 40, "lab2")
    assert stored(small) == before
    assert len(small.store.course_submissions("ml101")) == 2


def test_labs_over_quota_are_refused(small: CourseService) -> None:
    publish = small.publish
    too_big = {"name": "lab2", "files": encode({"a": b"x" * 201})}
    assert "courses.labs.max_mb" in refused(413, publish, "prof", PROF, "ml101", too_big)
    many = {"name": "lab2", "files": encode({str(i): b"" for i in range(6)})}
    assert "6 files" in refused(413, publish, "prof", PROF, "ml101", many)
    publish("prof", PROF, "ml101", {"name": "lab2", "files": encode({"a": b"1"})})
    third = {"name": "lab3", "files": encode({"a": b"1"})}
    assert "per_course = 2" in refused(409, publish, "prof", PROF, "ml101", third)
    # A new version of a lab it has is still fine.
    assert (
        publish("prof", PROF, "ml101", {"name": "lab2", "files": encode({"a": b"2"})})["version"]
        == 2
    )
    assert not (small.store.root / "ml101" / "labs" / "lab3").exists()


def test_a_file_and_a_folder_of_one_name_is_a_400_and_leaves_nothing(
    service: CourseService,
) -> None:
    clash = {"files": encode({"a": b"1", "a/b": b"2"})}
    message = refused(400, service.publish, "prof", PROF, "ml101", {"name": "lab1"} | clash)
    assert "'a' is both a file and a folder" in message
    assert stored(service) == []
    service.publish("prof", PROF, "ml101", {"name": "lab1", "files": encode({"a": b"1"})})
    before = stored(service)
    refused(400, service.hand_in, "stud", STUD, "ml101", "lab1", clash)
    assert stored(service) == before
