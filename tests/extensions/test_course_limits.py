"""The courses service's quotas as pure checks: which limit, which status, the numbers."""

from __future__ import annotations

import json

import pytest
import yaml

from extensions.courses.bundle import READ_MAX_BYTES, READ_MAX_FILES, encode
from extensions.courses.limits import (
    MB,
    HandInUsage,
    Limits,
    OverLimit,
    body_limit,
    check_hand_in,
    check_lab,
    hand_in_usage,
)
from hub_config.site import SCHEMA_PATH, load_site

SMALL = Limits(
    hand_in_bytes=10,
    hand_in_files=2,
    hand_ins_kept=3,
    student_bytes=25,
    course_hand_in_bytes=100,
    lab_bytes=20,
    lab_files=3,
    labs_per_course=2,
)
NONE_YET = HandInUsage(kept=0, student_bytes=0, course_bytes=0)


def refused(status: int, check, *args) -> str:
    with pytest.raises(OverLimit) as e:
        check(*args)
    assert e.value.status == status
    return e.value.message


def test_the_defaults_come_from_the_site_file() -> None:
    limits = Limits.from_site(load_site(env={})["courses"])
    assert limits == Limits.site_defaults()
    assert (limits.hand_in_bytes, limits.hand_ins_kept) == (20 * MB, 10)
    assert (limits.course_hand_in_bytes, limits.lab_bytes, limits.lab_files) == (
        500 * MB,
        50 * MB,
        2000,
    )


def test_the_readers_ceilings_are_the_schemas_maxima() -> None:
    # A user's server reads a folder up to these; it must never refuse what a site allows.
    courses = yaml.safe_load(SCHEMA_PATH.read_text())["properties"]["courses"]["properties"]
    for part in ("hand_ins", "labs"):
        keys = courses[part]["properties"]
        assert keys["max_mb"]["maximum"] * MB == READ_MAX_BYTES
        assert keys["max_files"]["maximum"] == READ_MAX_FILES


def test_an_upload_of_the_largest_bundle_fits_its_body_limit() -> None:
    files = {f"folder/file-{i:04}.ipynb": b"x" * 7 for i in range(3)}
    body = json.dumps({"name": "lab1", "title": "t" * 200, "files": encode(files)})
    assert len(body) <= body_limit(21, 3)
    assert body_limit(20 * MB, 500) < 28 * MB  # and not much more


def test_hand_in_limits_name_the_limit_and_the_numbers() -> None:
    args = (SMALL, {"a": b"x" * 11}, NONE_YET, "ml101", "lab1")
    assert "courses.hand_ins.max_mb" in refused(413, check_hand_in, *args)
    args = (SMALL, {"a": b"", "b": b"", "c": b""}, NONE_YET, "ml101", "lab1")
    assert "3 files; at most 2" in refused(413, check_hand_in, *args)
    message = refused(409, check_hand_in, SMALL, {"a": b"1"}, HandInUsage(3, 3, 3), "ml101", "lab1")
    assert "ml101/lab1 3 times" in message and "kept_per_student = 3" in message
    message = refused(
        409, check_hand_in, SMALL, {"a": b"x" * 10}, HandInUsage(1, 16, 16), "ml101", "lab1"
    )
    assert "per_student_mb" in message
    message = refused(
        409, check_hand_in, SMALL, {"a": b"x" * 10}, HandInUsage(0, 0, 91), "ml101", "lab1"
    )
    assert "per_course_mb" in message
    check_hand_in(SMALL, {"a": b"x" * 10}, HandInUsage(2, 15, 90), "ml101", "lab1")


def test_lab_limits_and_a_new_version_does_not_count_as_a_lab() -> None:
    assert "courses.labs.max_mb" in refused(413, check_lab, SMALL, {"a": b"x" * 21}, [], "c", "l")
    four = {str(i): b"" for i in range(4)}
    assert "courses.labs.max_files" in refused(413, check_lab, SMALL, four, [], "c", "l")
    message = refused(409, check_lab, SMALL, {"a": b"1"}, ["l1", "l2"], "c", "l3")
    assert "c has 2 labs" in message and "per_course = 2" in message
    check_lab(SMALL, {"a": b"1"}, ["l1", "l2"], "c", "l2")


def test_usage_counts_the_students_own_and_the_whole_course() -> None:
    records = [
        {"student": "stud", "lab": "lab1", "bytes": 5},
        {"student": "stud", "lab": "lab1", "bytes": 5},
        {"student": "stud", "lab": "lab2", "bytes": 7},
        {"student": "other", "lab": "lab1", "bytes": 11},
    ]
    assert hand_in_usage(records, "lab1", "stud") == HandInUsage(2, 17, 28)
    assert hand_in_usage(records, "lab2", "other") == HandInUsage(0, 11, 28)
