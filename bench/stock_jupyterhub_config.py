"""Stock-JupyterHub arm of the spawn benchmark: SimpleLocalProcessSpawner with the same
proxy, authenticator style, single-user command and timeouts as our hub, nothing else.

Environment: BENCH_PORT (public; proxy API +1, hub API +2), BENCH_DATA (a temp dir),
BENCH_TOKEN (API token of an admin service), BENCH_PROXY_TOKEN."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stock_hub_common import apply_common  # noqa: E402

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

data = apply_common(c)

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
