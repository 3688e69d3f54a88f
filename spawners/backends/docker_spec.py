"""What a slice server's container gets, as data: image, device request, limits, mounts,
environment and labels. Pure: the allocation's typed values and the site's settings in,
a ``ContainerSpec`` out, every value checked (a device UUID, a path or an image tag that
is not of its expected shape is a ``SpecError``, never passed on to Docker).

The device request has ``docker run --gpus device=<uuid>`` semantics: the NVIDIA runtime
exposes exactly that MIG instance or GPU to the container.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from spawners.backends.names import server_slug
from spawners.backends.resources import HostShare
from spawners.core.environment import MPS_LOG_DIRECTORY, MPS_PIPE_DIRECTORY, mps_directories
from spawners.core.profiles import SliceKind, slice_profile
from spawners.core.server_env import ServerEnv

DEVICE_UUID = re.compile(r"^(MIG|GPU)-[A-Za-z0-9-]{1,80}$")
# A Docker image reference: [registry[:port]/]path[:tag][@digest], lower-case path.
IMAGE_REF = re.compile(
    r"^([a-z0-9.-]+(:[0-9]{1,5})?/)?[a-z0-9]+([._-]+[a-z0-9]+)*(/[a-z0-9]+([._-]+[a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)
VOLUME_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,40}$")
HOST_PATH = re.compile(r"^/[A-Za-z0-9._/@+-]{0,4095}$")
LABEL_PREFIX = "sandbox.ai"


class SpecError(ValueError):
    """A value that must never reach a container spec."""


@dataclass(frozen=True)
class DockerSettings:
    """The site's Docker settings (``hub.backend.docker``), already validated."""

    image_tags: Mapping[str, str] = field(default_factory=dict)
    """Image name -> tag; unlisted images run ``sandbox/<image>``."""
    device_requests: bool = True
    home_volume_prefix: str = "sandbox-home"
    home_mount: str = "/home/jovyan"
    model_store: str | None = None
    model_store_mount: str = "/opt/models"
    mps_pipe_directory: str = MPS_PIPE_DIRECTORY
    """The site's gpus.mps.pipe_directory: GPU <i>'s MPS daemon listens in <this>/<i>."""
    mps_log_directory: str = MPS_LOG_DIRECTORY
    """The site's gpus.mps.log_directory: GPU <i>'s MPS daemon logs to <this>/<i>."""


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    environment: dict[str, str]
    memory_bytes: int
    cpus: float
    device_requests: tuple[dict, ...]
    volumes: dict[str, dict[str, str]]
    labels: dict[str, str]
    ipc_mode: str | None = None
    user: str = "1000:100"
    """Tenants never run as root in their container, whatever the image's USER says."""
    security_opt: tuple[str, ...] = ("no-new-privileges",)
    """No setuid binary (sudo) can raise a process above the server's user."""


def image_tag(image: str, tags: Mapping[str, str]) -> str:
    tag = tags.get(image) or f"sandbox/{image}"
    if not IMAGE_REF.fullmatch(tag):
        raise SpecError(f"the tag configured for image {image!r} is not a Docker reference")
    return tag


def device_request(device_uuid: str) -> dict:
    """``--gpus device=<uuid>``: the Docker API's DeviceRequest for one device."""
    if not DEVICE_UUID.fullmatch(device_uuid):
        raise SpecError("the allocated device is not a GPU or MIG UUID")
    return {"Driver": "nvidia", "DeviceIDs": [device_uuid], "Capabilities": [["gpu"]]}


def _path(value: str, what: str) -> str:
    if not HOST_PATH.fullmatch(value) or "/../" in f"{value}/":
        raise SpecError(f"{what} is not a plain absolute path")
    return value


def container_spec(
    *,
    user: str,
    server_name: str,
    allocation_id: int,
    slice_name: str,
    image: str,
    device_uuid: str | None,
    share: HostShare,
    settings: DockerSettings,
    gpu_index: int | None = None,
) -> ContainerSpec:
    """The container of one allocation. ``device_uuid`` and ``gpu_index`` (the GPU an
    MPS share is on) are what the ledger holds."""
    profile = slice_profile(slice_name)
    env: dict[str, str] = {}
    requests: tuple[dict, ...] = ()
    if profile.needs_gpu:
        if not device_uuid:
            raise SpecError("a GPU slice has no device to give the container")
        request = device_request(device_uuid)  # validates the UUID either way
        if settings.device_requests:
            requests = (request,)
        env["NVIDIA_VISIBLE_DEVICES"] = device_uuid
        env[ServerEnv.VISIBLE_DEVICES] = device_uuid
    else:
        # "void": the NVIDIA runtime gives the container no GPU at all.
        env["NVIDIA_VISIBLE_DEVICES"] = "void"
        env[ServerEnv.VISIBLE_DEVICES] = ""
    if not VOLUME_PREFIX.fullmatch(settings.home_volume_prefix):
        raise SpecError("the home volume prefix is not a Docker volume name")
    home = f"{settings.home_volume_prefix}-{server_slug(user, '', 40)}"
    volumes = {home: {"bind": _path(settings.home_mount, "home mount"), "mode": "rw"}}
    if settings.model_store:
        mount = _path(settings.model_store_mount, "model store mount")
        volumes[_path(settings.model_store, "model store")] = {"bind": mount, "mode": "ro"}
        env[ServerEnv.MODELS] = mount
    ipc_mode = None
    if profile.kind is SliceKind.MPS:
        # An MPS client talks to its GPU's MPS daemon: exactly that GPU's pipe folder
        # (the mps role's <pipe_directory>/<index>), at the same path, and shared IPC.
        if gpu_index is None:
            raise SpecError("an MPS share has no GPU index to find its MPS daemon by")
        _path(settings.mps_pipe_directory, "MPS pipe directory")
        _path(settings.mps_log_directory, "MPS log directory")
        folders = mps_directories(
            settings.mps_pipe_directory, settings.mps_log_directory, gpu_index
        )
        pipes = folders[ServerEnv.MPS_PIPE_DIRECTORY]
        volumes[pipes] = {"bind": pipes, "mode": "rw"}
        env.update(folders)
        ipc_mode = "host"
    return ContainerSpec(
        ipc_mode=ipc_mode,
        image=image_tag(image, settings.image_tags),
        environment=env,
        memory_bytes=share.memory_bytes,
        cpus=share.cpus,
        device_requests=requests,
        volumes=volumes,
        labels={
            f"{LABEL_PREFIX}/allocation": str(allocation_id),
            f"{LABEL_PREFIX}/slice": slice_name,
            f"{LABEL_PREFIX}/server": server_slug(user, server_name, 63),
        },
    )
