"""Read what systemd would read from a unit file: ExecStart, the environment (Environment=
and EnvironmentFile=) and the working directory, so a test can run the same command."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Unit:
    exec_start: list[str]
    environment: dict[str, str] = field(default_factory=dict)
    working_directory: str | None = None
    keys: dict[str, list[str]] = field(default_factory=dict)


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip().strip('"')
    return env


def read_unit(path: Path) -> Unit:
    keys: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        name, _, value = line.partition("=")
        keys.setdefault(name.strip(), []).append(value.strip())
    env: dict[str, str] = {}
    for value in keys.get("Environment", []):
        for assignment in shlex.split(value):
            name, _, val = assignment.partition("=")
            env[name] = val
    for value in keys.get("EnvironmentFile", []):
        env.update(read_env_file(Path(value.lstrip("-"))))
    (exec_start,) = keys["ExecStart"]
    working = keys.get("WorkingDirectory", [None])[0]
    return Unit(shlex.split(exec_start), env, working, keys)
