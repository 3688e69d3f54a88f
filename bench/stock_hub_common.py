"""Hub plumbing shared by the stock arms' config files: ports, state, proxy token,
password login and the admin service the benchmark drives the hub with.

Environment: BENCH_PORT (public; proxy API +1, hub API +2), BENCH_DATA, BENCH_TOKEN,
BENCH_PROXY_TOKEN."""

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
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.admin_password = secrets.token_urlsafe(30)
    # The load benchmark logs users in through the form, so it chooses the password.
    c.SharedPasswordAuthenticator.user_password = os.environ.get(
        "BENCH_USER_PASSWORD"
    ) or secrets.token_urlsafe(18)
    c.Authenticator.admin_users = {"admin"}
    c.Authenticator.allow_all = True
    c.JupyterHub.services = [{"name": "bench-admin", "api_token": os.environ["BENCH_TOKEN"]}]
    c.JupyterHub.load_roles = [{"name": "admin", "services": ["bench-admin"]}]
    return data
