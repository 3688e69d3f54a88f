"""The single-user server's environment for a slice: how the server (and CUDA) learn
which slice they hold. Pure: a mapping in, a mapping out."""

from __future__ import annotations

from .profiles import SliceKind, slice_profile_on
from .server_env import ServerEnv

MPS_PIPE_DIRECTORY = "/run/nvidia-mps"
"""Default of the site's ``gpus.mps.pipe_directory`` (hub_config/defaults.yaml)."""
MPS_LOG_DIRECTORY = "/var/log/nvidia-mps"
"""Default of the site's ``gpus.mps.log_directory``."""


def slice_environment(
    *,
    slice_name: str,
    image: str,
    device_uuid: str | None,
    gpu_uuid: str | None,
    gpu_index: int | None,
    simulated: bool,
    allocation_id: int | None,
    gpu_model: str | None = None,
    engine_chooses_device: bool = False,
) -> dict[str, str]:
    """``gpu_model``: the catalogue key of the GPU the slice is on (``h200-141gb``; None
    or "" for none or a model the catalogue lacks). The slice's figures are those it has
    on that model (a whole H200: 141 GB), and the server learns the model from
    ``SANDBOX_GPU_MODEL`` to show its own GPU-hour weight.

    ``engine_chooses_device``: the engine picks the GPU and sets CUDA_VISIBLE_DEVICES
    itself (Slurm's gres, Kubernetes' device plugin), so the hub's view of the device,
    its UUID and index are left out for a slice on a GPU; a cpu slice still hides every
    GPU."""
    profile = slice_profile_on(slice_name, gpu_model)
    env = {ServerEnv.SLICE: slice_name, ServerEnv.IMAGE: image}
    hub_places = not (engine_chooses_device and profile.needs_gpu)
    if hub_places:
        # Empty, not unset: an unset CUDA_VISIBLE_DEVICES means "every GPU".
        env[ServerEnv.VISIBLE_DEVICES] = (device_uuid or "") if profile.needs_gpu else ""
    env[ServerEnv.SLICE_MEMORY_GB] = str(profile.memory_gb)
    env[ServerEnv.SLICE_KIND] = profile.kind.value
    if gpu_model and profile.needs_gpu:
        env[ServerEnv.GPU_MODEL] = gpu_model
    if gpu_uuid and hub_places:
        env[ServerEnv.GPU_UUID] = gpu_uuid
    if gpu_index is not None and hub_places:
        env[ServerEnv.GPU_INDEX] = str(gpu_index)
    if allocation_id is not None:
        env[ServerEnv.ALLOCATION_ID] = str(allocation_id)
    if simulated:
        env[ServerEnv.SLICE_SIMULATED] = "1"
    if profile.kind is SliceKind.MPS:
        env[ServerEnv.MPS_THREAD_PERCENTAGE] = str(profile.mps_thread_percentage)
        # Device 0 of the server's own view: the one GPU it can see.
        env[ServerEnv.MPS_MEMORY_LIMIT] = f"0={profile.memory_gb}G"
    return env


def mps_directories(pipe_directory: str, log_directory: str, gpu_index: int) -> dict[str, str]:
    """Where a client of GPU ``gpu_index``'s MPS control daemon finds it: the pipe and log
    folders the Ansible ``mps`` role gives each MPS GPU, ``<directory>/<gpu index>``
    (``gpus.mps`` in the site file names the two directories)."""
    if isinstance(gpu_index, bool) or not isinstance(gpu_index, int) or gpu_index < 0:
        raise ValueError("an MPS share needs the index of its GPU")
    return {
        ServerEnv.MPS_PIPE_DIRECTORY: f"{pipe_directory.rstrip('/')}/{gpu_index}",
        ServerEnv.MPS_LOG_DIRECTORY: f"{log_directory.rstrip('/')}/{gpu_index}",
    }
