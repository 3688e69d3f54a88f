"""Docker backend: the server runs in a container on the GPU node (DockerSpawner).

The container gets exactly its slice (``docker_spec.py``): a device request for the
allocated MIG/GPU UUID, CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES, memory and CPU
limits from the slice's host share, the user's home on a named volume, the shared model
store read-only, and the image's tag from the site's mapping. The image always comes from
the validated allocation, never from raw user_options. A fresh container is created for
every start (``remove``), so a changed slice can never reuse an old container's devices.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.utils import kwargs_from_env
from dockerspawner import DockerSpawner
from jupyterhub.utils import random_port
from tornado import web
from traitlets import Bool, Dict, Enum, TraitError, Unicode, validate

from spawners.backends.docker_spec import (
    LABEL_PREFIX,
    ContainerSpec,
    DockerSettings,
    SpecError,
    container_spec,
)
from spawners.backends.mps import MpsClient
from spawners.backends.resources import NodeShape, host_share
from spawners.ledger.records import AllocationRecord
from spawners.mixin import SliceSpawnerMixin


class DockerSliceSpawner(SliceSpawnerMixin, MpsClient, DockerSpawner):
    engine_name = Unicode(
        "docker",
        help="""Engine recorded with each allocation; reconciliation inspects the container.""",
    )

    image_tags = Dict(
        value_trait=Unicode(),
        config=True,
        help="""Image name -> Docker tag (``{"vision": "registry.example/sandbox-vision:2.1"}``).
        Images not listed run ``sandbox/<image>`` (what make images tags).""",
    )

    gpu_device_requests = Enum(
        ["auto", "on", "off"],
        default_value="auto",
        config=True,
        help="""Ask Docker for the allocated device (``--gpus device=<uuid>``; needs the NVIDIA
        container runtime). auto: on for real GPUs, off for a simulated inventory, where no
        device exists and Docker would refuse to start the container.""",
    )

    home_volume_prefix = Unicode(
        "sandbox-home",
        config=True,
        help="""Each user's home is the named volume ``<prefix>-<user slug>``; it outlives
        the container, so files persist across servers.""",
    )

    home_mount = Unicode(
        "/home/jovyan", config=True, help="""Where the home volume is mounted in the container."""
    )

    model_store = Unicode(
        "",
        config=True,
        help="""Host folder of the shared model store, mounted read-only ('' = none).""",
    )

    model_store_mount = Unicode(
        "/opt/models",
        config=True,
        help="""Where the container sees the model store (its SANDBOX_MODELS).""",
    )

    node_shape = Dict(
        config=True,
        help="""CPUs and memory per GPU and for cpu servers (``hub.backend.host_share``),
        which become the container's CPU quota and memory limit.""",
    )

    remove = Bool(
        True,
        help="""Always True, and not a setting: the container is removed when its server
        stops (the home is on a volume). A kept container would be started again with
        its old slice's devices, on a slice the hub has given to someone else.""",
    )

    @validate("remove")
    def _always_remove(self, proposal: Any) -> bool:
        if not proposal["value"]:
            raise TraitError(
                "DockerSliceSpawner.remove cannot be False: a kept container would start "
                "again with its old slice's devices"
            )
        return True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._configured_host_config = copy.deepcopy(self.extra_host_config)
        self._configured_create_kwargs = copy.deepcopy(self.extra_create_kwargs)

    # --- the slice as Docker knobs -------------------------------------------------

    def container_spec(self, record: AllocationRecord) -> ContainerSpec:
        requests = self.gpu_device_requests == "on" or (
            self.gpu_device_requests == "auto" and not record.simulated
        )
        settings = DockerSettings(
            image_tags=dict(self.image_tags),
            device_requests=requests,
            home_volume_prefix=self.home_volume_prefix,
            home_mount=self.home_mount,
            model_store=self.model_store or None,
            model_store_mount=self.model_store_mount,
            mps_pipe_directory=self.pipe_directory,
            mps_log_directory=self.log_directory,
        )
        try:
            return container_spec(
                user=self.user.name,
                server_name=self.name,
                allocation_id=record.id,
                slice_name=record.slice_name,
                image=record.image,
                device_uuid=record.device_uuid,
                share=host_share(record.slice_name, NodeShape.from_site(self.node_shape)),
                settings=settings,
                gpu_index=self.mps_gpu_index(record),
            )
        except SpecError as e:
            self.log.error("container of allocation %s not built: %s", record.id, e)
            raise web.HTTPError(500, "This hub's Docker settings are invalid.") from None

    def _record(self) -> AllocationRecord:
        if self.allocation is None:
            raise web.HTTPError(500, "No slice is reserved for this server.")
        return self.allocation

    def slice_env(self, record: AllocationRecord) -> dict[str, str]:
        env = super().slice_env(record)
        env.update(self.container_spec(record).environment)
        return env

    async def check_allowed(self, image: str) -> str:
        # user_options["image"] was validated by the mixin; the tag comes from the site.
        return self.container_spec(self._record()).image

    async def pull_image(self, image: str) -> None:
        tag = self.container_spec(self._record()).image
        self.image = tag
        await super().pull_image(tag)

    async def create_object(self) -> dict:
        spec = self.container_spec(self._record())
        self.image = spec.image
        self.mem_limit = spec.memory_bytes
        self.cpu_limit = spec.cpus
        self.volumes = dict(spec.volumes)
        host_config = {
            k: v
            for k, v in self._configured_host_config.items()
            if k not in ("device_requests", "ipc_mode")
        }
        if spec.device_requests:
            host_config["device_requests"] = [dict(r) for r in spec.device_requests]
        if spec.ipc_mode:
            host_config["ipc_mode"] = spec.ipc_mode
        host_config["security_opt"] = list(spec.security_opt)
        self.extra_host_config = host_config
        create_kwargs = dict(self._configured_create_kwargs)
        create_kwargs["labels"] = {**create_kwargs.get("labels", {}), **spec.labels}
        create_kwargs["user"] = spec.user
        self.extra_create_kwargs = create_kwargs
        if self.network_name == "host":
            # No port mapping on the host network: each server needs a port of its own.
            self.port = random_port()
            self.ip = "127.0.0.1"
        return await super().create_object()

    async def get_ip_and_port(self) -> tuple[str, int]:
        if self.network_name == "host":
            return "127.0.0.1", self.port
        return await super().get_ip_and_port()

    def engine_reference(self) -> str | None:
        return f"docker:{self.object_id}" if self.object_id else None


# --- reconciliation at hub start-up ------------------------------------------------


def _client() -> docker.APIClient:
    return docker.APIClient(version="auto", timeout=20, **kwargs_from_env())


def _container_of(record: AllocationRecord) -> dict | None | bool:
    """The allocation's container, None if there is none, False if Docker is unreachable."""
    ref = record.engine_ref or ""
    if not ref.startswith("docker:") or len(ref) < 8:
        return None
    try:
        container = _client().inspect_container(ref[7:])
    except NotFound:
        return None
    except (APIError, docker.errors.DockerException, OSError):
        return False
    labels = (container.get("Config") or {}).get("Labels") or {}
    if labels.get(f"{LABEL_PREFIX}/allocation") != str(record.id):
        return None
    return container


def docker_server_running(record: AllocationRecord) -> bool | None:
    """Reconciliation probe: is the allocation's container (by id and label) running?"""
    if not (record.engine_ref or "").startswith("docker:"):
        return None if record.state == "reserved" else False
    container = _container_of(record)
    if container is False:
        return None
    return bool(container and container.get("State", {}).get("Running"))


def remove_abandoned_container(record: AllocationRecord) -> None:
    """Remove the container of a spawn whose hub died before it was up."""
    container = _container_of(record)
    if container:
        with contextlib.suppress(APIError, docker.errors.DockerException, OSError):
            _client().remove_container(container["Id"], force=True)
