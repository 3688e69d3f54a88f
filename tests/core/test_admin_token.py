"""SANDBOX_ADMIN_TOKEN gets JupyterHub's admin role, so the hub takes only a strong one
(64 hex characters) or none, and refuses to start otherwise, with the reason and never
the token itself."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config.site import SiteError, load_site
from hub_config.wiring import admin_token, configure

REPO = Path(__file__).resolve().parents[2]
PLACEHOLDER = "CHANGE-ME-64-hex-characters"


def test_no_token_is_no_admin_service() -> None:
    assert admin_token({}) == ""
    assert admin_token({"SANDBOX_ADMIN_TOKEN": "  \n"}) == ""


@pytest.mark.parametrize("token", [secrets.token_hex(32), secrets.token_hex(32).upper()])
def test_64_hex_characters_are_taken(token: str) -> None:
    assert admin_token({"SANDBOX_ADMIN_TOKEN": f" {token}\n"}) == token


@pytest.mark.parametrize(
    ("token", "has"),
    [
        (PLACEHOLDER, "27 characters, not all hex"),
        (secrets.token_hex(16), "32 characters"),
        (secrets.token_hex(32) + "0", "65 characters"),
        ("g" * 64, "64 characters, not all hex"),
        ("hunter2", "7 characters, not all hex"),
    ],
)
def test_anything_else_is_refused(token: str, has: str) -> None:
    with pytest.raises(SiteError) as refused:
        admin_token({"SANDBOX_ADMIN_TOKEN": token})
    assert str(refused.value) == (
        f"SANDBOX_ADMIN_TOKEN must be 64 hex characters (this one has {has}): make one "
        "with `openssl rand -hex 32`, or unset it for no admin service"
    )
    assert token not in str(refused.value)


def test_configure_refuses_before_touching_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"SANDBOX_DATA": str(data), "SANDBOX_ADMIN_TOKEN": PLACEHOLDER}
    with pytest.raises(SiteError, match="SANDBOX_ADMIN_TOKEN must be 64 hex characters"):
        configure(Config(), load_site(env={}), env=env)
    assert not data.exists()


def test_a_strong_token_becomes_the_admin_service(tmp_path: Path) -> None:
    token = secrets.token_hex(32)
    c = Config()
    env = {"SANDBOX_DATA": str(tmp_path / "data"), "SANDBOX_ADMIN_TOKEN": token}
    ctx = configure(c, load_site(env={}), env=env)
    ctx.ledger.dispose()
    assert {"name": "sandbox-admin", "api_token": token} in c.JupyterHub.services
    assert {"name": "admin", "services": ["sandbox-admin"]} in c.JupyterHub.load_roles


def test_the_hub_config_exits_cleanly_with_the_reason(tmp_path: Path) -> None:
    # What `jupyterhub -f hub_config/jupyterhub_config.py` runs, with get_config as
    # JupyterHub provides it.
    code = (
        "import runpy, sys; from traitlets.config import Config; "
        "runpy.run_path(sys.argv[1], init_globals={'get_config': Config})"
    )
    env = {
        **os.environ,
        "SANDBOX_DATA": str(tmp_path / "data"),
        "SANDBOX_ADMIN_TOKEN": PLACEHOLDER,
    }
    env.pop("SANDBOX_SITE", None)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(REPO / "hub_config" / "jupyterhub_config.py")],
        env=env,
        cwd=str(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        "error: SANDBOX_ADMIN_TOKEN must be 64 hex characters (this one has 27 characters, "
        "not all hex): make one with `openssl rand -hex 32`, or unset it for no admin service"
    )
