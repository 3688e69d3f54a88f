"""The site's login applied to JupyterHub's config: shared-password (the embedded
default), OIDC with group sync, GitHub teams as groups."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from oauthenticator.generic import GenericOAuthenticator
from oauthenticator.github import GitHubOAuthenticator
from traitlets.config import Config

from hub_config.auth import configure_auth, github_team_groups
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


def test_embedded_default_keeps_local_passwords(tmp_path: Path) -> None:
    c = Config()
    configure_auth(c, load_site(env={}), tmp_path)
    assert c.JupyterHub.authenticator_class == "shared-password"
    assert c.SharedPasswordAuthenticator.admin_password
    assert (tmp_path / "credentials.json").stat().st_mode & 0o777 == 0o600


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
