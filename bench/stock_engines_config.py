"""Stock arms of the engines benchmark: batchspawner's SlurmSpawner (its MultiSlurmSpawner,
for nodes whose names do not resolve) or dockerspawner's DockerSpawner, configured by hand
to do the same work as our backend (same gres or device request, same limits, same image,
same network, the same batch script), on the same proxy and timeouts. Servers reach the hub
the stock way: the hub API listens at BENCH_HUB_IP (``hub_ip``), the servers' address for
it (``hub_connect_url``), as DockerSpawner's and batchspawner's docs describe.

Environment: BENCH_ENGINE (slurm | docker), BENCH_PORT (public; proxy API +1, hub API +2),
BENCH_DATA, BENCH_TOKEN (API token of an admin service), BENCH_PROXY_TOKEN, BENCH_HUB_IP,
and per engine BENCH_GRES, BENCH_CPUS, BENCH_MEM_MIB, BENCH_NODE_ADDRESSES (JSON: node name
-> address) (slurm) or BENCH_IMAGE, BENCH_NETWORK, BENCH_DEVICE, BENCH_MEM_BYTES,
BENCH_CPU_LIMIT, BENCH_MODELS (docker)."""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stock_hub_common import apply_common  # noqa: E402

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

data = apply_common(c)
engine = os.environ["BENCH_ENGINE"]
venv = Path(sys.executable).parent
hub_ip = os.environ["BENCH_HUB_IP"]

c.JupyterHub.hub_ip = hub_ip
c.JupyterHub.hub_connect_url = f"http://{hub_ip}:{int(os.environ['BENCH_PORT']) + 2}"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 60

# batchspawner's SlurmSpawner template with what ours leaves out left out: no
# --get-user-env=L (a login shell on the node before the job starts; ours exports the
# environment with --export), the server exec'd as ours is (no trap, no srun step).
BATCH_SCRIPT = """#!/bin/bash
#SBATCH --job-name=spawner-jupyterhub
#SBATCH --output={{homedir}}/jupyterhub_slurmspawner_%j.log
#SBATCH --chdir={{homedir}}
#SBATCH --export={{keepvars}}
#SBATCH --cpus-per-task={{nprocs}}
#SBATCH --mem={{memory}}
#SBATCH --partition={{partition}}
#SBATCH --gres={{gres}}
set -euo pipefail
exec {{cmd}}
"""

if engine == "slurm":
    c.JupyterHub.spawner_class = "batchspawner.MultiSlurmSpawner"
    s = c.MultiSlurmSpawner
    s.batch_script = BATCH_SCRIPT
    # sudo resets PATH: absolute commands, as batchspawner's docs advise.
    s.batch_submit_cmd = "/usr/bin/sbatch --parsable"
    s.batch_query_cmd = "/usr/bin/squeue -h -j {job_id} -o '%T %B'"
    s.batch_cancel_cmd = "/usr/bin/scancel {job_id}"
    s.batchspawner_singleuser_cmd = str(venv / "batchspawner-singleuser")
    s.cmd = [str(venv / "jupyterhub-singleuser")]
    s.req_partition = "gpu"
    s.req_gres = os.environ["BENCH_GRES"]
    s.req_nprocs = os.environ["BENCH_CPUS"]
    s.req_memory = f"{os.environ['BENCH_MEM_MIB']}M"
    s.req_srun = ""  # the server runs in the batch step, as ours does
    s.startup_poll_interval = 0.5
    # The nodes' names (slurmd -N) do not resolve here: batchspawner's own map.
    s.daemon_resolver = json.loads(os.environ["BENCH_NODE_ADDRESSES"])
    # sbatch needs the private cluster's configuration.
    c.Spawner.env_keep = ["SLURM_CONF", "JUPYTERHUB_SINGLEUSER_APP"]
elif engine == "docker":
    c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
    s = c.DockerSpawner
    s.image = os.environ["BENCH_IMAGE"]
    s.network_name = os.environ["BENCH_NETWORK"]
    s.use_internal_ip = True  # the proxy reaches the container on the bridge
    s.remove = True
    s.mem_limit = int(os.environ["BENCH_MEM_BYTES"])
    s.cpu_limit = float(os.environ["BENCH_CPU_LIMIT"])
    s.volumes = {
        "bench-home-{username}": "/home/jovyan",
        os.environ["BENCH_MODELS"]: {"bind": "/opt/models", "mode": "ro"},
    }
    # What ours gives each container too: never root, no privilege raising.
    s.extra_create_kwargs = {"user": "1000:100"}
    s.extra_host_config = {
        "device_requests": [
            {
                "Driver": "nvidia",
                "DeviceIDs": [os.environ["BENCH_DEVICE"]],
                "Capabilities": [["gpu"]],
            }
        ],
        "security_opt": ["no-new-privileges"],
    }
else:
    raise SystemExit(f"unknown BENCH_ENGINE {engine!r}")
