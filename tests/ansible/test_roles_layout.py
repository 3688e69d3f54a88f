"""The official sample layout and the geerlingguy habits: every role has the standard
folders, its variables are prefixed with its name, and every default is documented both
in defaults/main.yml (a comment) and in the role's README."""

from __future__ import annotations

import re

import pytest
import yaml

from .conftest import ANSIBLE_DIR, ROLES

ROLE_NAMES = ["nvidia_driver", "mig_layout", "mps", "jupyterhub", "slurm", "monitoring"]
KEY = re.compile(r"^([A-Za-z0-9_]+):")


def test_the_roles_are_there():
    assert sorted(p.name for p in ROLES.iterdir() if p.is_dir()) == sorted(ROLE_NAMES)


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_role_has_the_standard_layout(role):
    for folder in ("defaults", "tasks", "handlers", "templates", "meta"):
        assert (ROLES / role / folder).is_dir(), f"{role}/{folder}"
    meta = yaml.safe_load((ROLES / role / "meta" / "main.yml").read_text())
    assert meta["galaxy_info"]["role_name"] == role
    assert (ROLES / role / "README.md").is_file()


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_default_is_prefixed_and_documented(role):
    text = (ROLES / role / "defaults" / "main.yml").read_text()
    readme = (ROLES / role / "README.md").read_text()
    documented = False
    keys = []
    for line in text.splitlines():
        if line.startswith("#"):
            documented = True  # a comment documents the keys right below it
        elif not line.strip():
            documented = False
        elif match := KEY.match(line):
            key = match.group(1)
            keys.append(key)
            assert key.startswith(f"{role}_"), f"{role}: {key} is not prefixed with the role name"
            assert documented, f"{role}: {key} has no comment above it in defaults/main.yml"
            assert f"`{key}`" in readme, f"{role}: {key} is not in the role's README"
    assert keys == list(yaml.safe_load(text)), "every top-level default was checked"


def test_site_playbook_runs_every_role():
    plays = yaml.safe_load((ANSIBLE_DIR / "site.yml").read_text())
    used = {r["role"] for play in plays for r in play.get("roles", [])}
    assert used == set(ROLE_NAMES)


def test_example_vault_holds_only_placeholders():
    path = ANSIBLE_DIR / "inventories/example/group_vars/all/vault.yml.example"
    values = yaml.safe_load(path.read_text())
    assert values and all(str(v).startswith("CHANGE-ME") for v in values.values())
    # And no real vault file is committed next to it.
    assert not (path.parent / "vault.yml").exists()
