"""The site's login applied to JupyterHub's config: personal accounts (the embedded
default), a shared password only where it cannot hand out unix accounts, OIDC with group
sync, GitHub teams as groups."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from oauthenticator.generic import GenericOAuthenticator
from oauthenticator.github import GitHubOAuthenticator
from traitlets.config import Config

from hub_config.auth import configure_auth, github_team_groups
from hub_config.native import SandboxNativeAuthenticator
from hub_config.site import SiteError, load_site

TEAMS = """
teams:
  alpha: {kind: startup, groups: [startup-alpha]}
  ml101:
    kind: course
    groups: [course-ml101]
    instructors: {groups: [ml101-staff]}
"""


def site(tmp_path: Path, text: str):
    path = tmp_path / "site.yaml"
    path.write_text("site: {name: Test}\ngpus: {source: simulated}\n" + text)
    return load_site(path, env={})


def test_embedded_default_gives_personal_logins(tmp_path: Path) -> None:
    c = Config()
    configure_auth(c, load_site(env={}), tmp_path)
    assert c.JupyterHub.authenticator_class is SandboxNativeAuthenticator
    native = c.SandboxNativeAuthenticator
    # Sign-ups wait for an admin; nobody gets in on a shared password.
    assert native.open_signup is False and native.enable_signup is True
    assert native.first_admin_credentials == str(tmp_path / "credentials.json")
    creds = json.loads((tmp_path / "credentials.json").read_text())
    assert set(creds) == {"admin_user", "admin_password"}
    assert (tmp_path / "credentials.json").stat().st_mode & 0o777 == 0o600
    assert c.Authenticator.username_pattern == "^[a-z0-9가-힣][a-z0-9가-힣._-]{0,31}$"


def test_owner_only_hub_admits_its_owner_and_takes_no_sign_ups(tmp_path: Path) -> None:
    c = Config()
    configure_auth(c, load_site(env={}), tmp_path, owner_only=True)
    assert c.Authenticator.allowed_users == {"admin"}
    assert c.Authenticator.allow_all is False
    assert c.SandboxNativeAuthenticator.enable_signup is False


def test_a_shared_password_left_by_an_earlier_version_is_dropped(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text(
        json.dumps({"admin_user": "admin", "admin_password": "a" * 40, "user_password": "x"})
    )
    configure_auth(Config(), load_site(env={}), tmp_path)
    creds = json.loads((tmp_path / "credentials.json").read_text())
    assert creds == {"admin_user": "admin", "admin_password": "a" * 40}


@pytest.mark.parametrize(
    "backend",
    ["{kind: local}", "{kind: slurm}"],
)
def test_shared_password_is_refused_with_real_unix_accounts(tmp_path: Path, backend: str) -> None:
    with pytest.raises(SiteError, match="shared-password lets anyone who knows"):
        site(tmp_path, f"hub: {{authenticator: {{kind: shared-password}}, backend: {backend}}}\n")


def test_shared_password_is_refused_with_teams(tmp_path: Path) -> None:
    text = "hub: {authenticator: {kind: shared-password}, backend: {kind: docker}}\n" + TEAMS
    with pytest.raises(SiteError, match="teams"):
        site(tmp_path, text)


def test_shared_password_workshop_on_containers_keeps_both_passwords(tmp_path: Path) -> None:
    c = Config()
    text = (
        "hub: {authenticator: {kind: shared-password}, backend: {kind: docker},"
        " internal_url: http://172.17.0.1}\n"
    )
    configure_auth(c, site(tmp_path, text), tmp_path)
    assert c.JupyterHub.authenticator_class == "shared-password"
    creds = json.loads((tmp_path / "credentials.json").read_text())
    assert c.SharedPasswordAuthenticator.user_password == creds["user_password"]


def test_owner_only_hub_refuses_a_shared_password(tmp_path: Path) -> None:
    text = (
        "hub: {authenticator: {kind: shared-password}, backend: {kind: docker},"
        " internal_url: http://172.17.0.1}\n"
    )
    with pytest.raises(SiteError, match="own unix user"):
        configure_auth(Config(), site(tmp_path, text), tmp_path, owner_only=True)


def test_oidc_with_explicit_endpoints_and_group_sync(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    text = f"""
hub:
  admin_users: [ops]
  authenticator:
    kind: oidc
    login_service: ACME Data Center account
    client_id: hub
    client_secret_file: {secret}
    admin_groups: [dc-admins]
    oidc:
      issuer: https://idp.example/realms/dc
      authorize_url: https://idp.example/auth
      token_url: https://idp.example/token
      userdata_url: https://idp.example/userinfo
      groups_claim: roles.groups
      client_auth: client_secret_basic
{TEAMS}"""
    c = Config()
    configure_auth(c, site(tmp_path, text), tmp_path)
    assert c.JupyterHub.authenticator_class is GenericOAuthenticator
    g = c.GenericOAuthenticator
    assert g.login_service == "ACME Data Center account"
    assert (g.client_id, g.client_secret) == ("hub", "s3cret")
    assert g.authorize_url == "https://idp.example/auth"
    assert g.userdata_url == "https://idp.example/userinfo"
    assert g.manage_groups is True and g.allow_all is False
    assert g.auth_state_groups_key == "oauth_user.roles.groups"
    assert g.allowed_groups == {"startup-alpha", "course-ml101", "ml101-staff", "dc-admins"}
    assert g.admin_groups == {"dc-admins"}
    assert g.basic_auth is True
    assert g.oauth_callback_url == "http://127.0.0.1:8000/hub/oauth_callback"
    assert "not in any team of this hub (Test)" in g.custom_403_message
    assert c.Authenticator.admin_users == {"ops"}
    assert not (tmp_path / "credentials.json").exists()


def test_oidc_discovery_failure_is_a_clear_start_up_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing answers there
    text = f"""
hub:
  authenticator:
    kind: oidc
    client_id: hub
    oidc: {{issuer: "http://127.0.0.1:{port}"}}
{TEAMS}"""
    with pytest.raises(SiteError) as info:
        configure_auth(Config(), site(tmp_path, text), tmp_path)
    message = str(info.value)
    assert "hub.authenticator.oidc.issuer: cannot read" in message
    assert "/.well-known/openid-configuration" in message


def test_github_teams_become_groups(tmp_path: Path) -> None:
    text = "hub:\n  authenticator: {kind: github, client_id: gh}\n" + TEAMS
    c = Config()
    configure_auth(c, site(tmp_path, text), tmp_path)
    assert c.JupyterHub.authenticator_class is GitHubOAuthenticator
    gh = c.GitHubOAuthenticator
    assert gh.populate_teams_in_auth_state is True and "read:org" in gh.scope
    assert gh.auth_state_groups_key is github_team_groups
    state = {
        "teams": [
            {"slug": "startup-alpha", "organization": {"login": "acme"}},
            {"slug": "broken"},
        ]
    }
    assert github_team_groups(state) == ["acme:startup-alpha"]
    assert github_team_groups({}) == []
