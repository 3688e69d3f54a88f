"""Hub plumbing shared by the stock arms' config files: ports, state, proxy token,
password login and the admin service the benchmark drives the hub with.

Environment: BENCH_PORT (public; proxy API +1, hub API +2), BENCH_DATA, BENCH_TOKEN,
BENCH_PROXY_TOKEN, BENCH_AUTH (``native``: personal logins as on our hub, the admin's
from BENCH_DATA/credentials.json; otherwise a shared password)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


def apply_common(c: Any) -> Path:
    """Configure everything but the spawner; return the data folder."""
    port = int(os.environ["BENCH_PORT"])
    data = Path(os.environ["BENCH_DATA"])
    c.JupyterHub.bind_url = f"http://127.0.0.1:{port}"
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = port + 2
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + 1}"
    c.ConfigurableHTTPProxy.auth_token = os.environ["BENCH_PROXY_TOKEN"]
    c.ConfigurableHTTPProxy.pid_file = str(data / "proxy.pid")
    c.JupyterHub.db_url = f"sqlite:///{data / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(data / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(data / "jupyterhub.pid")
    if os.environ.get("BENCH_AUTH") == "native":
        # The load benchmark: the same personal logins as ours (NativeAuthenticator,
        # bcrypt per login), so hub CPU compares the hubs, not two password checks.
        # NativeAuthenticator 1.3's own login handler fails on JupyterHub 6.1; this is
        # it with that fixed, nothing more of ours.
        from hub_config.native import SandboxNativeAuthenticator

        c.JupyterHub.authenticator_class = SandboxNativeAuthenticator
        c.SandboxNativeAuthenticator.first_admin_credentials = str(data / "credentials.json")
        c.SandboxNativeAuthenticator.open_signup = False
    else:
        c.JupyterHub.authenticator_class = "shared-password"
        c.SharedPasswordAuthenticator.admin_password = secrets.token_urlsafe(30)
        c.SharedPasswordAuthenticator.user_password = secrets.token_urlsafe(18)
    c.Authenticator.admin_users = {"admin"}
    c.Authenticator.allow_all = True
    c.JupyterHub.services = [{"name": "bench-admin", "api_token": os.environ["BENCH_TOKEN"]}]
    c.JupyterHub.load_roles = [{"name": "admin", "services": ["bench-admin"]}]
    return data
