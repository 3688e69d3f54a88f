"""How people log in: the site's authenticator, applied to JupyterHub's config.

shared-password (the embedded default): local passwords generated on first run; hub
groups are managed by admins. oidc / github: OAuth login whose provider groups become hub
groups at every login (``manage_groups``); only members of a team's groups (and the
site's admin_users) may log in, everyone else gets a page that says why."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hub_config.secrets import login_credentials
from hub_config.site import Site, SiteError
from spawners.core.policy import PolicyError, Teams, teams_from_site

REFUSED_MESSAGE = (
    "Your account is not in any team of this hub ({site}), so you cannot use it. If you "
    "should, ask your team's administrator to add you to your team's group at the "
    "identity provider, then sign in again."
)


def site_teams(doc: Mapping[str, Any]) -> Teams:
    return teams_from_site(doc.get("teams") or {}, site_images=tuple(doc["images"]))


def check_access(doc: Mapping[str, Any], source: str) -> None:
    """Semantic checks of teams and login that the schema cannot express."""
    try:
        teams = site_teams(doc)
    except PolicyError as e:
        raise SiteError(f"site file {source}: {e}") from None
    auth = doc["hub"]["authenticator"]
    if auth["kind"] != "shared-password" and not teams:
        raise SiteError(
            f"site file {source}: hub.authenticator.kind {auth['kind']} lets in the members "
            "of the teams' groups only: declare at least one team under teams"
        )


def configure_auth(c: Any, site: Site, data: Path) -> None:
    hub = site["hub"]
    auth = hub["authenticator"]
    admins = set(hub["admin_users"])
    c.Authenticator.admin_users = admins
    if auth["kind"] == "shared-password":
        creds = login_credentials(data, sorted(admins)[0] if admins else "admin")
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
    oauth.allowed_groups = set(teams.login_groups()) | set(auth["admin_groups"])
    if auth["admin_groups"]:
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
