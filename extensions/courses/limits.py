"""The courses service's quotas (the site file's `courses:` section), as pure checks.

A refusal names the limit, its setting and the numbers. 413: the request itself is too
large (bytes or files); 409: the student or course already holds the most allowed.
Checks run before anything is written, so a refused request stores nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MB = 10**6
PER_FILE_JSON = 320
"""A file's share of a JSON upload besides its base64: its quoted path and punctuation."""
BODY_SLACK = 64 * 1024
"""The rest of an upload's JSON (name, title, due, source)."""


class OverLimit(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Limits:
    hand_in_bytes: int
    hand_in_files: int
    hand_ins_kept: int
    """Per student and lab."""
    student_bytes: int
    """One student's hand-ins in one course."""
    course_hand_in_bytes: int
    lab_bytes: int
    lab_files: int
    labs_per_course: int

    @classmethod
    def from_site(cls, courses: Mapping[str, Any]) -> Limits:
        """From a validated site's ``courses`` section."""
        hand_ins, labs = courses["hand_ins"], courses["labs"]
        return cls(
            hand_in_bytes=hand_ins["max_mb"] * MB,
            hand_in_files=hand_ins["max_files"],
            hand_ins_kept=hand_ins["kept_per_student"],
            student_bytes=hand_ins["per_student_mb"] * MB,
            course_hand_in_bytes=hand_ins["per_course_mb"] * MB,
            lab_bytes=labs["max_mb"] * MB,
            lab_files=labs["max_files"],
            labs_per_course=labs["per_course"],
        )

    @classmethod
    def site_defaults(cls) -> Limits:
        """The built-in defaults (hub_config/defaults.yaml), for callers without a site."""
        import yaml

        from hub_config.site import DEFAULTS_PATH

        return cls.from_site(yaml.safe_load(DEFAULTS_PATH.read_text())["courses"])

    @property
    def hand_in_body(self) -> int:
        return body_limit(self.hand_in_bytes, self.hand_in_files)

    @property
    def lab_body(self) -> int:
        return body_limit(self.lab_bytes, self.lab_files)


def body_limit(max_bytes: int, max_files: int) -> int:
    """The largest JSON upload that can hold a bundle within these limits."""
    return 4 * -(-max_bytes // 3) + max_files * PER_FILE_JSON + BODY_SLACK


def mb(n: int) -> str:
    return f"{n / MB:.1f} MB"


def check_size(files: Mapping[str, bytes], max_bytes: int, max_files: int, what: str) -> None:
    """``what`` names the setting prefix: courses.hand_ins or courses.labs."""
    if len(files) > max_files:
        raise OverLimit(
            413, f"{len(files)} files; at most {max_files} are allowed ({what}.max_files)."
        )
    size = sum(len(v) for v in files.values())
    if size > max_bytes:
        raise OverLimit(
            413, f"{mb(size)}; at most {max_bytes // MB} MB are allowed ({what}.max_mb)."
        )


@dataclass(frozen=True)
class HandInUsage:
    kept: int
    """Hand-ins this student has kept of this lab."""
    student_bytes: int
    course_bytes: int


def hand_in_usage(records: Iterable[Mapping[str, Any]], lab: str, student: str) -> HandInUsage:
    """From every hand-in record of one course (submission.json)."""
    kept = student_bytes = course_bytes = 0
    for r in records:
        size = int(r.get("bytes", 0))
        course_bytes += size
        if r.get("student") == student:
            student_bytes += size
            if r.get("lab") == lab:
                kept += 1
    return HandInUsage(kept, student_bytes, course_bytes)


def check_hand_in(
    limits: Limits, files: Mapping[str, bytes], usage: HandInUsage, course: str, lab: str
) -> None:
    try:
        check_size(files, limits.hand_in_bytes, limits.hand_in_files, "courses.hand_ins")
    except OverLimit as e:
        raise OverLimit(e.status, f"This hand-in is too large: {e.message}") from None
    if usage.kept >= limits.hand_ins_kept:
        raise OverLimit(
            409,
            f"You have handed in {course}/{lab} {usage.kept} times, the most kept per "
            f"student (courses.hand_ins.kept_per_student = {limits.hand_ins_kept}).",
        )
    size = sum(len(v) for v in files.values())
    if usage.student_bytes + size > limits.student_bytes:
        raise OverLimit(
            409,
            f"Your hand-ins in {course} hold {mb(usage.student_bytes)}; this {mb(size)} "
            f"would pass the {limits.student_bytes // MB} MB per student "
            "(courses.hand_ins.per_student_mb).",
        )
    if usage.course_bytes + size > limits.course_hand_in_bytes:
        raise OverLimit(
            409,
            f"The hand-ins of {course} hold {mb(usage.course_bytes)}; this {mb(size)} "
            f"would pass the {limits.course_hand_in_bytes // MB} MB per course "
            "(courses.hand_ins.per_course_mb). Tell an instructor.",
        )


def check_lab(
    limits: Limits, files: Mapping[str, bytes], labs: Iterable[str], course: str, lab: str
) -> None:
    """``labs``: the names of the labs ``course`` has now (a new version does not count)."""
    try:
        check_size(files, limits.lab_bytes, limits.lab_files, "courses.labs")
    except OverLimit as e:
        raise OverLimit(e.status, f"This lab is too large: {e.message}") from None
    names = set(labs)
    if lab not in names and len(names) >= limits.labs_per_course:
        raise OverLimit(
            409,
            f"{course} has {len(names)} labs, the most allowed "
            f"(courses.labs.per_course = {limits.labs_per_course}); publish a new version "
            "of one instead.",
        )
