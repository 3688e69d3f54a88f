"""How the hub runs the courses service: its port, entry and the servers' address."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hub_config.services import (
    COURSES_ROLES,
    courses_port,
    courses_service,
    remember_courses_port,
    server_environment,
)


def test_port_is_remembered_across_hub_restarts(tmp_path: Path) -> None:
    first = courses_port({}, tmp_path)
    # Choosing it (at config load) writes nothing; the service remembers it once it listens.
    assert list(tmp_path.iterdir()) == []
    remember_courses_port(tmp_path, first)
    assert courses_port({}, tmp_path) == first
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", first))
        # Someone else holds it now: another free port, remembered once the service runs.
        second = courses_port({}, tmp_path)
        assert second != first
        remember_courses_port(tmp_path, second)
    assert courses_port({}, tmp_path) == second


def test_explicit_port_and_bad_values() -> None:
    assert courses_port({"SANDBOX_COURSES_PORT": " 9123 "}) == 9123
    for bad in ("x", "0", "70000"):
        with pytest.raises(ValueError):
            courses_port({"SANDBOX_COURSES_PORT": bad})


def test_service_entry_and_server_address(tmp_path: Path) -> None:
    env = {"SANDBOX_COURSES_PORT": "9124", "SANDBOX_COURSES_STUDENTS_GROUP": "s-{course}"}
    service = courses_service(env, {"SANDBOX_DATA": str(tmp_path)})
    assert service["name"] == "courses" and service["url"] == "http://127.0.0.1:9124"
    # The service's settings are the site file's courses section: the hub's environment
    # is not passed through.
    assert "SANDBOX_COURSES_STUDENTS_GROUP" not in service["environment"]
    assert service["environment"]["SANDBOX_DATA"] == str(tmp_path)
    assert server_environment(service, {}) == {
        "SANDBOX_COURSES_URL": "http://127.0.0.1:9124/services/courses/"
    }
    remote = {"SANDBOX_COURSES_URL": "https://hub.example.org/services/courses/"}
    assert server_environment(service, remote) == remote
    assert COURSES_ROLES[0]["scopes"] == ["read:users:groups"]
