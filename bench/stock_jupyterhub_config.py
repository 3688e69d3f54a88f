"""Stock-JupyterHub arm of the spawn benchmark: SimpleLocalProcessSpawner with the same
proxy, authenticator style, single-user command and timeouts as our hub, nothing else.

Environment: BENCH_PORT (public; proxy API +1, hub API +2), BENCH_DATA (a temp dir),
BENCH_TOKEN (API token of an admin service), BENCH_PROXY_TOKEN."""

import os
import secrets
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

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
c.SharedPasswordAuthenticator.user_password = secrets.token_urlsafe(18)
c.Authenticator.admin_users = {"admin"}
c.Authenticator.allow_all = True

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(data / "homes" / "{username}")
c.Spawner.cmd = [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
# As our backend does for the hub's own user: root needs --allow-root; same root_dir.
c.Spawner.args = ["--allow-root"]
c.Spawner.notebook_dir = str(data / "homes" / "{username}")
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 30
c.JupyterHub.allow_named_servers = True

c.JupyterHub.services = [{"name": "bench-admin", "api_token": os.environ["BENCH_TOKEN"]}]
c.JupyterHub.load_roles = [{"name": "admin", "services": ["bench-admin"]}]
