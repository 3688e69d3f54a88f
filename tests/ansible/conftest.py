"""Shared helpers for the Ansible tests: where things are, how to run Ansible offline
against this machine, and the CI rule (a missing tool fails under CI, skips elsewhere)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.requirements import missing

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_DIR = REPO / "ansible"
ROLES = ANSIBLE_DIR / "roles"
EXAMPLE_INVENTORY = ANSIBLE_DIR / "inventories" / "example" / "hosts.yml"
EXAMPLE_SITE = ANSIBLE_DIR / "inventories" / "example" / "files" / "site.yaml"
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"
FAKES = Path(__file__).resolve().parent / "fakes"
VENV_BIN = Path(sys.executable).parent


def require(path_or_command: str, why: str) -> str:
    """The tool's path; skip without it, or fail under CI (where it must be installed)."""
    found = shutil.which(path_or_command) or (
        path_or_command if os.access(path_or_command, os.X_OK) else None
    )
    if found:
        return found
    missing(f"missing {path_or_command} ({why})")


def ansible_tool(name: str) -> str:
    return require(str(VENV_BIN / name), "pip install -r requirements/ansible.txt")


def ansible_env(tmp: Path) -> dict[str, str]:
    """Offline Ansible: collections only from the pinned `ansible` package in the venv."""
    try:
        import ansible_collections  # the `ansible` PyPI package
    except ImportError:
        require("ansible_collections", "pip install -r requirements/ansible.txt")
    collections = Path(next(iter(ansible_collections.__path__))).parent
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
            "ANSIBLE_ROLES_PATH": str(ROLES),
            "ANSIBLE_COLLECTIONS_PATH": str(collections),
            "ANSIBLE_HOME": str(tmp / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "PATH": f"{VENV_BIN}:{env.get('PATH', '')}",
        }
    )
    return env


@dataclass
class PlaybookRun:
    stdout: str
    ok: int
    changed: int
    failed: int

    @property
    def tail(self) -> str:
        return "\n".join(self.stdout.splitlines()[-60:])


RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def run_playbook(
    playbook: Path, tmp: Path, inventory: str, *args: str, timeout: float = 600
) -> PlaybookRun:
    cmd = [ansible_tool("ansible-playbook"), "-i", inventory, str(playbook), *args]
    proc = subprocess.run(
        cmd,
        env=ansible_env(tmp),
        cwd=str(ANSIBLE_DIR),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    out = proc.stdout + proc.stderr
    totals = [tuple(map(int, m.groups())) for m in RECAP.finditer(proc.stdout)]
    if proc.returncode != 0 or not totals:
        pytest.fail(f"ansible-playbook {playbook.name} failed ({proc.returncode}):\n{out[-6000:]}")
    return PlaybookRun(
        stdout=out,
        ok=sum(t[0] for t in totals),
        changed=sum(t[1] for t in totals),
        failed=sum(t[2] + t[3] for t in totals),
    )
