"""Course roles from JupyterHub group names, with configurable naming."""

from __future__ import annotations

from pathlib import Path

import pytest

from extensions.courses.roles import CourseNaming, Role, course_roles, valid_name
from hub_config.site import SiteError, load_site

DEFAULT = CourseNaming.from_site(load_site(env={})["courses"])
"""The naming of a site that says nothing (hub_config/defaults.yaml)."""


def test_default_naming() -> None:
    groups = ["ml101-students", "cv200-instructors", "acme", "staff", "-students"]
    assert course_roles(groups, DEFAULT) == {
        "cv200": Role.INSTRUCTOR,
        "ml101": Role.STUDENT,
    }


def test_instructor_wins_when_in_both_groups() -> None:
    groups = ["ml101-instructors", "ml101-students"]
    assert course_roles(groups, DEFAULT) == {"ml101": Role.INSTRUCTOR}
    assert course_roles(reversed(groups), DEFAULT) == {"ml101": Role.INSTRUCTOR}


def _site(tmp: Path, text: str) -> Path:
    path = tmp / "site.yaml"
    path.write_text(text)
    return path


def test_configurable_templates(tmp_path: Path) -> None:
    site = _site(
        tmp_path,
        "courses: {students_group: 'course:{course}', instructors_group: 'course:{course}:teach'}",
    )
    naming = CourseNaming.from_site(load_site(site, env={})["courses"])
    assert naming.group("ml101", Role.INSTRUCTOR) == "course:ml101:teach"
    assert course_roles(["course:ml101", "course:cv2:teach", "ml101-students"], naming) == {
        "cv2": Role.INSTRUCTOR,
        "ml101": Role.STUDENT,
    }


def test_group_names_that_are_not_course_names_are_ignored() -> None:
    assert course_roles(["Bad Name-students", "../x-students"], DEFAULT) == {}


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


@pytest.mark.parametrize("template", ["students", "{course}-{course}", "{cours}-x", "{course}-{x}"])
def test_the_site_file_refuses_a_template_without_one_course(tmp_path: Path, template: str) -> None:
    with pytest.raises(SiteError, match="students_group"):
        load_site(_site(tmp_path, f"courses: {{students_group: '{template}'}}"), env={})


def test_the_service_refuses_one_template_for_both_roles(tmp_path: Path) -> None:
    from extensions.bootstrap import ServiceNotStarted
    from extensions.courses.__main__ import make_app

    site = _site(
        tmp_path, "courses: {students_group: 'c-{course}', instructors_group: 'c-{course}'}"
    )
    with pytest.raises(ServiceNotStarted, match="courses: students and instructors need different"):
        make_app({"SANDBOX_SITE": str(site), "SANDBOX_DATA": str(tmp_path)})
