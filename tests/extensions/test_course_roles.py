"""Course roles from JupyterHub group names, with configurable naming."""

from __future__ import annotations

import pytest

from extensions.courses.roles import CourseNaming, Role, course_roles, valid_name


def test_default_naming() -> None:
    groups = ["ml101-students", "cv200-instructors", "acme", "staff", "-students"]
    assert course_roles(groups, CourseNaming()) == {
        "cv200": Role.INSTRUCTOR,
        "ml101": Role.STUDENT,
    }


def test_instructor_wins_when_in_both_groups() -> None:
    groups = ["ml101-instructors", "ml101-students"]
    assert course_roles(groups, CourseNaming()) == {"ml101": Role.INSTRUCTOR}
    assert course_roles(reversed(groups), CourseNaming()) == {"ml101": Role.INSTRUCTOR}


def test_configurable_templates() -> None:
    naming = CourseNaming.from_env(
        {
            "SANDBOX_COURSES_STUDENTS_GROUP": "course:{course}",
            "SANDBOX_COURSES_INSTRUCTORS_GROUP": "course:{course}:teach",
        }
    )
    assert naming.group("ml101", Role.INSTRUCTOR) == "course:ml101:teach"
    assert course_roles(["course:ml101", "course:cv2:teach", "ml101-students"], naming) == {
        "cv2": Role.INSTRUCTOR,
        "ml101": Role.STUDENT,
    }


def test_group_names_that_are_not_course_names_are_ignored() -> None:
    assert course_roles(["Bad Name-students", "../x-students"], CourseNaming()) == {}


@pytest.mark.parametrize(
    ("students", "instructors"), [("students", "{course}-i"), ("{course}", "{course}")]
)
def test_bad_templates_fail_fast(students: str, instructors: str) -> None:
    with pytest.raises(ValueError):
        CourseNaming(students=students, instructors=instructors)


def test_valid_names() -> None:
    assert valid_name("ml101") and valid_name("lab-2.b_c")
    assert not valid_name("") and not valid_name("ML") and not valid_name(".x")
    assert not valid_name("a/b") and not valid_name("x" * 64)
