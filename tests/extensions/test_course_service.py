"""Who may do what in the courses service (pure, without the web)."""

from __future__ import annotations

from pathlib import Path

import pytest

from extensions.courses.bundle import encode
from extensions.courses.roles import Role
from extensions.courses.service import CourseError, CourseService
from extensions.courses.store import CourseStore

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
    assert [lab["name"] for lab in service.sync(STUD)] == ["lab1"]
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
    labs = {lab["name"]: lab for lab in service.sync(STUD, {"ml101/lab1": 1, "ml101/lab2": 7})}
    assert labs["lab1"]["unchanged"] is True and labs["lab1"]["files"] == ["a"]
    assert "unchanged" not in labs["lab2"] and labs["lab2"]["files"] == {"b": "MQ=="}
