"""How people log in: the site's authenticator, applied to JupyterHub's config.

native (the embedded default): personal accounts (NativeAuthenticator), sign-ups approved
by an admin, the first admin's password generated on first run. oidc / github: OAuth login
whose provider groups become hub groups at every login (``manage_groups``); only members
of a team's groups (and the site's admin_users) may log in, everyone else gets a page that
says why. shared-password: one password for all non-admins, a one-day workshop on
containers only. An unprivileged hub (servers as the hub's own user) admits its owner only."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub_config.native import SandboxNativeAuthenticator
from hub_config.secrets import CREDENTIALS_FILE, login_credentials
from hub_config.site import Site, SiteError, site_teams

REFUSED_MESSAGE = (
    "Your account is not in any team of this hub ({site}), so you cannot use it. If you "
    "should, ask your team's administrator to add you to your team's group at the "
    "identity provider, then sign in again."
)


def configure_auth(c: Any, site: Site, data: Path, owner_only: bool = False) -> None:
    """``owner_only``: servers run as the hub's own unix user, so only the first admin
    (the hub's owner) may log in at all."""
    hub = site["hub"]
    auth = hub["authenticator"]
    admins = list(hub["admin_users"])
    first_admin = admins[0] if admins else "admin"
    c.Authenticator.admin_users = {first_admin} if owner_only else set(admins)
    c.Authenticator.username_pattern = auth["username_pattern"]
    if owner_only:
        if auth["kind"] == "shared-password":
            raise SiteError(
                "hub.authenticator.kind shared-password: this hub runs every server as its "
                "own unix user, so a shared password would hand that account to anyone"
            )
        c.Authenticator.allowed_users = {first_admin}
    if auth["kind"] == "native":
        login_credentials(data, first_admin, shared=False)
        c.JupyterHub.authenticator_class = SandboxNativeAuthenticator
        c.SandboxNativeAuthenticator.first_admin_credentials = str(data / CREDENTIALS_FILE)
        # Sign-ups wait for an admin's approval; an owner-only hub takes none.
        c.SandboxNativeAuthenticator.open_signup = False
        c.SandboxNativeAuthenticator.enable_signup = not owner_only
        c.SandboxNativeAuthenticator.minimum_password_length = 10
        c.SandboxNativeAuthenticator.check_common_password = True
        c.SandboxNativeAuthenticator.allowed_failed_logins = 5
        c.SandboxNativeAuthenticator.seconds_before_next_try = 60
        # Approval is the allow list: only approved accounts authenticate at all.
        c.Authenticator.allow_all = not owner_only
        return
    if auth["kind"] == "shared-password":
        creds = login_credentials(data, first_admin, shared=True)
        c.JupyterHub.authenticator_class = "shared-password"
        c.SharedPasswordAuthenticator.admin_password = creds["admin_password"]
        c.SharedPasswordAuthenticator.user_password = creds["user_password"]
        c.Authenticator.allow_all = True
        return
    teams = site_teams(site.doc)
    if auth["kind"] == "oidc":
        from oauthenticator.generic import GenericOAuthenticator as cls
    else:
        from oauthenticator.github import GitHubOAuthenticator as cls
    c.JupyterHub.authenticator_class = cls
    oauth = getattr(c, cls.__name__)
    oauth.login_service = auth["login_service"]
    oauth.client_id = auth["client_id"]
    if auth.get("client_secret_file"):
        oauth.client_secret = Path(auth["client_secret_file"]).read_text(encoding="utf-8").strip()
    oauth.oauth_callback_url = auth.get("callback_url") or _default_callback(hub)
    # Groups come from the provider at every login and replace the user's hub groups.
    oauth.manage_groups = True
    oauth.allow_all = False
    if not owner_only:
        oauth.allowed_groups = set(teams.login_groups()) | set(auth["admin_groups"])
    if auth["admin_groups"] and not owner_only:
        oauth.admin_groups = set(auth["admin_groups"])
    oauth.custom_403_message = REFUSED_MESSAGE.format(site=site["site"]["name"])
    if auth["kind"] == "oidc":
        _configure_oidc(oauth, auth["oidc"])
    else:
        # GitHub teams as "org:team-slug" groups (needs the read:org scope).
        oauth.scope = ["read:user", "read:org"]
        oauth.populate_teams_in_auth_state = True
        oauth.auth_state_groups_key = github_team_groups


def github_team_groups(auth_state: Mapping[str, Any]) -> list[str]:
    return [
        f"{t['organization']['login']}:{t['slug']}"
        for t in auth_state.get("teams") or []
        if t.get("organization", {}).get("login") and t.get("slug")
    ]


def _default_callback(hub: Mapping[str, Any]) -> str:
    host = "127.0.0.1" if hub["bind_ip"] in ("0.0.0.0", "::", "") else hub["bind_ip"]
    return f"http://{host}:{hub['port']}/hub/oauth_callback"


def _configure_oidc(oauth: Any, oidc: Mapping[str, Any]) -> None:
    endpoints = {k: oidc.get(k) for k in ("authorize_url", "token_url", "userdata_url")}
    if not all(endpoints.values()):
        found = discover(oidc["issuer"], verify=oidc["tls_verify"])
        for key, field in (
            ("authorize_url", "authorization_endpoint"),
            ("token_url", "token_endpoint"),
            ("userdata_url", "userinfo_endpoint"),
        ):
            endpoints[key] = endpoints[key] or found[field]
    oauth.authorize_url = endpoints["authorize_url"]
    oauth.token_url = endpoints["token_url"]
    oauth.userdata_url = endpoints["userdata_url"]
    oauth.scope = list(oidc["scopes"])
    oauth.username_claim = oidc["username_claim"]
    oauth.auth_state_groups_key = f"oauth_user.{oidc['groups_claim']}"
    oauth.basic_auth = oidc["client_auth"] == "client_secret_basic"
    oauth.validate_server_cert = oidc["tls_verify"]


def discover(issuer: str, verify: bool = True, timeout: float = 10) -> dict[str, str]:
    """The provider's endpoints from its OpenID discovery document (at start-up)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    context = None
    if not verify:
        import ssl

        context = ssl._create_unverified_context()
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context) as r:  # noqa: S310
            doc = json.loads(r.read().decode("utf-8"))
    except (OSError, ValueError) as e:
        raise SiteError(
            f"hub.authenticator.oidc.issuer: cannot read {url} ({e}); give authorize_url, "
            "token_url and userdata_url instead"
        ) from None
    missing = [
        k
        for k in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint")
        if not doc.get(k)
    ]
    if missing:
        raise SiteError(f"hub.authenticator.oidc.issuer: {url} lacks {', '.join(missing)}")
    return doc
