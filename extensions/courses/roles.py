"""Course membership from JupyterHub group names. Pure.

A course ``ml101`` is two JupyterHub groups, by default ``ml101-students`` and
``ml101-instructors`` (the team sync maps IdP groups onto them). The naming is a
template (the site file's ``courses.students_group`` and ``courses.instructors_group``)
so a site can use ``course-{course}-ta`` or similar."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

COURSE_NAME = r"[a-z0-9][a-z0-9_.-]{0,62}"
_COURSE_RE = re.compile(COURSE_NAME)


class Role(StrEnum):
    STUDENT = "student"
    INSTRUCTOR = "instructor"


@dataclass(frozen=True)
class CourseNaming:
    """Group-name templates; each must contain ``{course}`` exactly once."""

    students: str
    instructors: str

    def __post_init__(self) -> None:
        for template in (self.students, self.instructors):
            if template.count("{course}") != 1:
                raise ValueError(f"group template {template!r} must contain {{course}} once")
        if self.students == self.instructors:
            raise ValueError("students and instructors need different group templates")

    @classmethod
    def from_site(cls, courses: Mapping[str, Any]) -> CourseNaming:
        """From the site file's merged ``courses`` section."""
        return cls(students=courses["students_group"], instructors=courses["instructors_group"])

    def group(self, course: str, role: Role) -> str:
        template = self.instructors if role is Role.INSTRUCTOR else self.students
        return template.replace("{course}", course)

    def parse(self, group: str) -> tuple[str, Role] | None:
        """(course, role) for a group that names one, else None."""
        for role, template in ((Role.INSTRUCTOR, self.instructors), (Role.STUDENT, self.students)):
            before, after = template.split("{course}")
            if (
                group.startswith(before)
                and group.endswith(after)
                and len(group) > len(before) + len(after)
            ):
                course = group[len(before) : len(group) - len(after)]
                if _COURSE_RE.fullmatch(course):
                    return course, role
        return None


def course_roles(groups: Iterable[str], naming: CourseNaming) -> dict[str, Role]:
    """Each course the groups name, with the user's role in it. Instructor wins when a
    person is in both groups of one course (a TA who is also enrolled)."""
    roles: dict[str, Role] = {}
    for group in groups:
        parsed = naming.parse(group)
        if parsed is None:
            continue
        course, role = parsed
        if roles.get(course) is not Role.INSTRUCTOR:
            roles[course] = role
    return dict(sorted(roles.items()))


def valid_name(name: str) -> bool:
    """Course and lab names: short lowercase slugs (they become folder names)."""
    return bool(_COURSE_RE.fullmatch(name))
