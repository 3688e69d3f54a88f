"""Stock-JupyterHub arm of the spawn benchmark: LocalProcessSpawner with real unix users
when run as root (SimpleLocalProcessSpawner otherwise), the same proxy, single-user
command and timeouts as our hub, nothing else.

Environment: BENCH_PORT (public; proxy API +1, hub API +2), BENCH_DATA (a temp dir),
BENCH_TOKEN (API token of an admin service), BENCH_PROXY_TOKEN."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stock_hub_common import apply_common  # noqa: E402

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

data = apply_common(c)

if os.geteuid() == 0:
    # As a root hub serves tenants: stock LocalProcessSpawner, each user their own unix
    # account (which must exist), homes where the accounts' passwd entries say.
    c.JupyterHub.spawner_class = "localprocess"
else:
    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = str(data / "homes" / "{username}")
    c.Spawner.notebook_dir = str(data / "homes" / "{username}")
c.Spawner.cmd = [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 30
c.JupyterHub.allow_named_servers = True
