"""The jupyterhub role refuses weak secrets before it touches the host: the example
vault's placeholders (walked through one at a time, as an operator who replaced only
some of them would), an admin token that is not 64 hex characters whether or not the
culler is on, an OAuth client without its secret. One ansible-playbook run of only the
role's checks, one inventory host per case."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys

import pytest
import yaml

from .conftest import ANSIBLE_DIR, PLAYBOOKS, ansible_env, ansible_tool

EXAMPLE = ANSIBLE_DIR / "inventories" / "example" / "group_vars"
PLACEHOLDER_TOKEN = "CHANGE-ME-64-hex-characters"

SECRETS_MSG = "jupyterhub_cookie_secret and jupyterhub_crypt_key must each be 64 hex characters"
TOKEN_MSG = "jupyterhub_admin_token must be 64 hex characters (openssl rand -hex 32), or empty"
OAUTH_MSG = "jupyterhub_oauth_client_secret must be the secret the identity provider issued"


def example_hub_vars() -> dict:
    """The example hub's secret variables, wired to the example vault's values (the
    vault file is loaded the way a copy of it would be, as vault_* variables)."""
    vault = yaml.safe_load((EXAMPLE / "all" / "vault.yml.example").read_text())
    hub = yaml.safe_load((EXAMPLE / "hub" / "main.yml").read_text())
    keys = (
        "jupyterhub_cookie_secret",
        "jupyterhub_crypt_key",
        "jupyterhub_admin_token",
        "jupyterhub_oauth_client_id",
        "jupyterhub_oauth_client_secret",
    )
    return {**vault, **{k: hub[k] for k in keys}}


def real(**overrides: object) -> dict:
    """Sound values for everything the checks read; the rest of the host is not used."""
    values = {
        "jupyterhub_cookie_secret": secrets.token_hex(32),
        "jupyterhub_crypt_key": secrets.token_hex(32),
        "jupyterhub_admin_token": secrets.token_hex(32),
        "jupyterhub_src_method": "path",
        "jupyterhub_tls_enabled": False,
    }
    values.update(overrides)
    return values


def vault_with(**values: str) -> dict:
    """The example inventory and vault with some of the vault's placeholders replaced."""
    return {**example_hub_vars(), **values, "jupyterhub_src_method": "path",
            "jupyterhub_tls_enabled": False}  # fmt: skip


CASES: dict[str, tuple[dict, str | None]] = {
    # The example vault as shipped, then with one placeholder replaced after another.
    "example_vault": (vault_with(), SECRETS_MSG),
    "example_vault_real_cookie_and_crypt_key": (
        vault_with(
            vault_jupyterhub_cookie_secret=secrets.token_hex(32),
            vault_jupyterhub_crypt_key=secrets.token_hex(32),
        ),
        TOKEN_MSG,
    ),
    "example_vault_real_admin_token_too": (
        vault_with(
            vault_jupyterhub_cookie_secret=secrets.token_hex(32),
            vault_jupyterhub_crypt_key=secrets.token_hex(32),
            vault_jupyterhub_admin_token=secrets.token_hex(32),
        ),
        OAUTH_MSG,
    ),
    "example_vault_every_secret_real": (
        vault_with(
            vault_jupyterhub_cookie_secret=secrets.token_hex(32),
            vault_jupyterhub_crypt_key=secrets.token_hex(32),
            vault_jupyterhub_admin_token=secrets.token_hex(32),
            vault_jupyterhub_oauth_client_secret=secrets.token_urlsafe(32),
        ),
        None,
    ),
    # The admin token, with the culler off (the default) and on.
    "placeholder_token_culler_off": (real(jupyterhub_admin_token=PLACEHOLDER_TOKEN), TOKEN_MSG),
    "placeholder_token_culler_on": (
        real(jupyterhub_admin_token=PLACEHOLDER_TOKEN, jupyterhub_idle_culler_enabled=True),
        TOKEN_MSG,
    ),
    "short_hex_token": (real(jupyterhub_admin_token=secrets.token_hex(16)), TOKEN_MSG),
    "long_hex_token": (real(jupyterhub_admin_token=secrets.token_hex(33)), TOKEN_MSG),
    "password_token": (real(jupyterhub_admin_token="correct horse battery staple"), TOKEN_MSG),
    "empty_token_culler_on": (
        real(jupyterhub_admin_token="", jupyterhub_idle_culler_enabled=True),
        TOKEN_MSG,
    ),
    "empty_token_culler_off": (real(jupyterhub_admin_token=""), None),
    "hex_token_culler_on": (real(jupyterhub_idle_culler_enabled=True), None),
    "upper_case_hex_token": (real(jupyterhub_admin_token=secrets.token_hex(32).upper()), None),
    # An OAuth client needs its real secret.
    "oauth_without_secret": (real(jupyterhub_oauth_client_id="hub"), OAUTH_MSG),
    "oauth_with_secret": (
        real(jupyterhub_oauth_client_id="hub", jupyterhub_oauth_client_secret="s3cr3t-from-idp"),
        None,
    ),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, list[dict]]:
    """Each case's results of the role's check tasks, in order."""
    tmp = tmp_path_factory.mktemp("jupyterhub-secrets")
    hosts = {
        name: {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            **values,
        }
        for name, (values, _) in CASES.items()
    }
    inventory = tmp / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    proc = subprocess.run(
        [
            ansible_tool("ansible-playbook"),
            "-i",
            str(inventory),
            str(PLAYBOOKS / "check_jupyterhub_inputs.yml"),
        ],
        env={**ansible_env(tmp), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"},
        cwd=str(ANSIBLE_DIR),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # 0: every host passed; 2: some failed (as they should). Anything else is a crash.
    assert proc.returncode in (0, 2), proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads(proc.stdout)
    results: dict[str, list[dict]] = {name: [] for name in CASES}
    for play in report["plays"]:
        for task in play["tasks"]:
            name = task["task"]["name"].removeprefix("jupyterhub : ")
            if not name.startswith("Check"):
                continue
            for host, result in task["hosts"].items():
                results[host].append({"task": name, **result})
    return results


@pytest.mark.parametrize("case", list(CASES))
def test_each_case_is_refused_or_passes(outcomes, case: str) -> None:
    expected = CASES[case][1]
    results = outcomes[case]
    failed = [r for r in results if r.get("failed")]
    if expected is None:
        assert results and not failed, failed
        return
    assert len(failed) == 1, results  # the role stops at the first refusal
    assert expected in failed[0]["msg"], failed[0]["msg"]
    # The refusal names what to fix, never the value it refused.
    rendered = json.dumps(failed[0])
    for value in CASES[case][0].values():
        if isinstance(value, str) and len(value) >= 32 and value != PLACEHOLDER_TOKEN:
            assert value not in rendered


def test_the_placeholder_token_refusal_is_clear(outcomes) -> None:
    [failed] = [r for r in outcomes["placeholder_token_culler_off"] if r.get("failed")]
    assert failed["task"] == "Check the admin token (from Ansible Vault)"
    assert failed["msg"] == (
        "jupyterhub_admin_token must be 64 hex characters (openssl rand -hex 32), or empty "
        "for no admin service; the idle culler needs one. A placeholder such as the example "
        "vault's CHANGE-ME-64-hex-characters is refused."
    )


def test_the_example_vault_placeholders_are_the_ones_tested() -> None:
    vault = yaml.safe_load((EXAMPLE / "all" / "vault.yml.example").read_text())
    assert vault["vault_jupyterhub_admin_token"] == PLACEHOLDER_TOKEN
    assert str(vault["vault_jupyterhub_oauth_client_secret"]).startswith("CHANGE-ME")
