"""Stock arms of the engines benchmark: batchspawner's SlurmSpawner or dockerspawner's
DockerSpawner, configured by hand to do the same work as our backend (same gres or device
request, same limits, same image, same network), on the same proxy and timeouts.

Environment: BENCH_ENGINE (slurm | docker), BENCH_PORT (public; proxy API +1, hub API +2),
BENCH_DATA, BENCH_TOKEN (API token of an admin service), BENCH_PROXY_TOKEN, and per engine
BENCH_GRES, BENCH_CPUS, BENCH_MEM_MIB (slurm) or BENCH_IMAGE, BENCH_DEVICE, BENCH_MEM_BYTES,
BENCH_CPU_LIMIT, BENCH_MODELS (docker)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stock_hub_common import apply_common  # noqa: E402

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

data = apply_common(c)
engine = os.environ["BENCH_ENGINE"]
venv = Path(sys.executable).parent

c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 60

if engine == "slurm":
    c.JupyterHub.spawner_class = "batchspawner.SlurmSpawner"
    s = c.SlurmSpawner
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
    # sbatch needs the private cluster's configuration.
    c.Spawner.env_keep = ["SLURM_CONF", "JUPYTERHUB_SINGLEUSER_APP"]
elif engine == "docker":
    from dockerspawner import DockerSpawner
    from jupyterhub.utils import random_port

    class HostNetworkDockerSpawner(DockerSpawner):
        """What DockerSpawner's docs ask for with network_mode host: own ip and port."""

        async def create_object(self):
            self.port = random_port()
            self.ip = "127.0.0.1"
            return await super().create_object()

        async def get_ip_and_port(self):
            return "127.0.0.1", self.port

    c.JupyterHub.spawner_class = HostNetworkDockerSpawner
    s = c.HostNetworkDockerSpawner
    s.image = os.environ["BENCH_IMAGE"]
    s.network_name = "host"
    s.use_internal_ip = True
    s.remove = True
    s.mem_limit = int(os.environ["BENCH_MEM_BYTES"])
    s.cpu_limit = float(os.environ["BENCH_CPU_LIMIT"])
    s.volumes = {
        "bench-home-{username}": "/home/jovyan",
        os.environ["BENCH_MODELS"]: {"bind": "/opt/models", "mode": "ro"},
    }
    s.extra_host_config = {
        "device_requests": [
            {
                "Driver": "nvidia",
                "DeviceIDs": [os.environ["BENCH_DEVICE"]],
                "Capabilities": [["gpu"]],
            }
        ]
    }
else:
    raise SystemExit(f"unknown BENCH_ENGINE {engine!r}")
