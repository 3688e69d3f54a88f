"""ansible-lint (production profile, offline) and a syntax check of site.yml."""

from __future__ import annotations

import subprocess

from .conftest import ANSIBLE_DIR, EXAMPLE_INVENTORY, PLAYBOOKS, ansible_env, ansible_tool


def test_ansible_lint_production_profile_passes(tmp_path):
    # Lints ansible/ (site.yml, every role, the example inventory) per ansible/.ansible-lint.
    proc = subprocess.run(
        [ansible_tool("ansible-lint"), "--offline", "--profile", "production", "--nocolor"],
        env={**ansible_env(tmp_path), "ANSIBLE_LINT_SKIP_VERSION_CHECK": "1"},
        cwd=str(ANSIBLE_DIR),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-8000:]
    assert "Profile 'production' was required, and it passed" in out, out[-4000:]


def test_site_playbook_syntax_check(tmp_path):
    proc = subprocess.run(
        [
            ansible_tool("ansible-playbook"),
            "-i",
            str(EXAMPLE_INVENTORY),
            "--syntax-check",
            "site.yml",
        ],
        env=ansible_env(tmp_path),
        cwd=str(ANSIBLE_DIR),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_test_playbooks_syntax_check(tmp_path):
    for playbook in sorted(PLAYBOOKS.glob("*.yml")):
        proc = subprocess.run(
            [ansible_tool("ansible-playbook"), "-i", "localhost,", "--syntax-check", str(playbook)],
            env=ansible_env(tmp_path),
            cwd=str(ANSIBLE_DIR),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, f"{playbook.name}: {proc.stdout + proc.stderr}"
