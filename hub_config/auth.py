"""How people log in: the site's authenticator, applied to JupyterHub's config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub_config.secrets import login_credentials
from hub_config.site import Site


def configure_auth(c: Any, site: Site, data: Path) -> None:
    hub = site["hub"]
    admins = set(hub["admin_users"])
    creds = login_credentials(data, sorted(admins)[0] if admins else "admin")
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.admin_password = creds["admin_password"]
    c.SharedPasswordAuthenticator.user_password = creds["user_password"]
    c.Authenticator.admin_users = admins
    c.Authenticator.allow_all = True
