"""Kubernetes backend: the server runs in a pod (KubeSpawner, e.g. under Zero to JupyterHub).

``kube_manifest.slice_pod`` turns the allocation into KubeSpawner's knobs (device-plugin
resource limits, GPU node selector and tolerations, CPU/memory, namespace, labels, image);
this class applies them in ``load_user_options``, the hook KubeSpawner calls first thing
in ``_start``, instead of KubeSpawner's profile handling: raw user_options never reach
the pod, and KubeSpawner's own ``get_pod_manifest`` builds the pod from those knobs. The
device plugin decides which MIG device the pod gets, so the hub does not set
CUDA_VISIBLE_DEVICES for GPU slices (the container sees only its own device), nor the
MPS pipe and log folders of an MPS share (the device plugin's MPS daemon injects its own).
"""

from __future__ import annotations

import copy
from typing import Any

from jupyterhub.spawner import Spawner
from kubespawner import KubeSpawner
from tornado import web
from traitlets import Bool, Dict, Enum, List, Unicode, default

from spawners.backends.kube_manifest import (
    DEFAULT_TOLERATIONS,
    KubeSettings,
    ManifestError,
    PodSlice,
    slice_pod,
)
from spawners.backends.resources import NodeShape, host_share
from spawners.ledger.records import AllocationRecord
from spawners.mixin import SliceSpawnerMixin


class _ConfiguredNamespace(Spawner):
    """Remembers the namespace as configured, before KubeSpawner's ``__init__`` replaces
    it with its per-user namespace (``enable_user_namespaces``, which team namespaces
    turn on so that KubeSpawner creates the namespaces and watches all of them).

    It sits right after KubeSpawner in KubeSliceSpawner's MRO, so its ``__init__`` runs
    once the traits are loaded and before KubeSpawner's own body: ``namespace`` is then
    still the site's ``<namespace>``, not ``<hub namespace>-<user>``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._base_namespace: str = self.namespace

    # JupyterHub requires every Spawner subclass to define these; KubeSpawner's come
    # first in KubeSliceSpawner's MRO, so these are never reached there.
    async def start(self) -> Any:
        return await super().start()

    async def stop(self, now: bool = False) -> None:
        await super().stop(now=now)

    async def poll(self) -> int | None:
        return await super().poll()


class KubeSliceSpawner(SliceSpawnerMixin, KubeSpawner, _ConfiguredNamespace):
    engine_chooses_device = True  # the device plugin sets CUDA_VISIBLE_DEVICES

    engine_name = Unicode(
        "kubernetes", help="""Engine recorded with each allocation (namespace/pod as its ref)."""
    )

    team_namespaces = Bool(
        False,
        config=True,
        help="""Run each team's pods in ``<namespace>-<team>`` (created on first use; the
        hub's service account must be allowed to create namespaces). False: every pod runs
        in ``namespace``, labelled with its team.""",
    )

    mig_strategy = Enum(
        ["mixed", "single"],
        default_value="mixed",
        config=True,
        help="""The NVIDIA device plugin's MIG strategy. mixed: a slice requests
        ``nvidia.com/mig-<profile>`` on nodes whose ``nvidia.com/gpu.product`` is the
        product of its GPU. single: it requests ``nvidia.com/gpu`` on nodes whose
        ``nvidia.com/gpu.product`` label is ``<product>-MIG-<profile>``.""",
    )

    gpu_product = Unicode(
        "",
        config=True,
        help="""GPU Feature Discovery's ``nvidia.com/gpu.product`` of every GPU node. Empty:
        the product of the model of the GPU each slice is on, from the GPU catalogue
        (``NVIDIA-H100-80GB-HBM3``, ``NVIDIA-H100-NVL``, ``NVIDIA-H200``,
        ``NVIDIA-A100-SXM4-80GB``, ``NVIDIA-A100-SXM4-40GB``), so a site may mix models.""",
    )

    mps_resource = Unicode(
        "nvidia.com/gpu.shared",
        config=True,
        help="""Extended resource of an MPS share (the device plugin's renamed shared
        resource); each share requests one replica.""",
    )

    image_tags = Dict(
        value_trait=Unicode(),
        config=True,
        help="""Image name -> image reference. Images not listed run ``<image_registry>/<image>``.""",
    )

    image_registry = Unicode(
        "sandbox", config=True, help="""Registry/path prefix of images not in image_tags."""
    )

    gpu_node_selector = Dict(
        default_value={"nvidia.com/gpu.present": "true"},
        value_trait=Unicode(),
        config=True,
        help="""Node selector of GPU pods (GPU Feature Discovery's labels); cpu pods get none.""",
    )

    gpu_tolerations = List(
        [dict(t) for t in DEFAULT_TOLERATIONS],
        config=True,
        help="""Tolerations of GPU pods, for the taint that keeps other pods off GPU nodes.""",
    )

    model_store_claim = Unicode(
        "",
        config=True,
        help="""A ReadOnlyMany PersistentVolumeClaim with the model store ('' = none),
        mounted read-only at ``model_store_mount``.""",
    )

    model_store_mount = Unicode(
        "/opt/models", config=True, help="""Where pods see the model store (SANDBOX_MODELS)."""
    )

    node_shape = Dict(
        config=True,
        help="""CPUs and memory per GPU and for cpu servers (``hub.backend.host_share``),
        which become the pod's requests and limits.""",
    )

    # Tenants never run as root in their pod, whatever the image says (the images' user
    # is jovyan, uid 1000, group users 100), and cannot gain privileges.
    @default("uid")
    def _uid_default(self) -> int:
        return 1000

    @default("gid")
    def _gid_default(self) -> int:
        return 100

    @default("fs_gid")
    def _fs_gid_default(self) -> int:
        return 100

    @default("allow_privilege_escalation")
    def _no_privilege_escalation(self) -> bool:
        return False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # self._base_namespace: set by _ConfiguredNamespace before KubeSpawner rewrote
        # self.namespace; until a start (or load_state) says otherwise, pods are there.
        self.namespace = self._base_namespace
        self.dns_name = self.dns_name_template.format(namespace=self.namespace, name=self.pod_name)
        # What else the site configured, kept for every start:
        self._configured = {
            "node_selector": copy.deepcopy(self.node_selector),
            "tolerations": copy.deepcopy(self.tolerations),
            "extra_labels": copy.deepcopy(self.extra_labels),
            "extra_resource_limits": copy.deepcopy(self.extra_resource_limits),
            "extra_resource_guarantees": copy.deepcopy(self.extra_resource_guarantees),
            "volumes": copy.deepcopy(self.volumes),
            "volume_mounts": copy.deepcopy(self.volume_mounts),
        }

    def settings(self) -> KubeSettings:
        return KubeSettings(
            namespace=self._base_namespace,
            team_namespaces=self.team_namespaces,
            mig_strategy=self.mig_strategy,
            gpu_product=self.gpu_product,
            mps_resource=self.mps_resource,
            image_tags=dict(self.image_tags),
            image_registry=self.image_registry,
            gpu_node_selector=dict(self.gpu_node_selector),
            gpu_tolerations=tuple(dict(t) for t in self.gpu_tolerations),
            model_store_claim=self.model_store_claim or None,
            model_store_mount=self.model_store_mount,
        )

    def pod_slice(self, record: AllocationRecord) -> PodSlice:
        try:
            return slice_pod(
                allocation_id=record.id,
                slice_name=record.slice_name,
                image=record.image,
                team=record.team,
                share=host_share(record.slice_name, NodeShape.from_site(self.node_shape)),
                settings=self.settings(),
                device_name=self._ctx.inventory.device_name(record.gpu_uuid),
            )
        except ManifestError as e:
            self.log.error("pod of allocation %s not built: %s", record.id, e)
            raise web.HTTPError(500, "This hub's Kubernetes settings are invalid.") from None

    async def load_user_options(self) -> None:
        """Apply the allocation (validated by the mixin) instead of KubeSpawner's profiles."""
        record = self.allocation
        if record is None:
            raise web.HTTPError(500, "No slice is reserved for this server.")
        pod = self.pod_slice(record)
        base = self._configured
        self.namespace = pod.namespace
        self.dns_name = self.dns_name_template.format(namespace=self.namespace, name=self.pod_name)
        self.image = pod.image
        self.cpu_limit = pod.cpu_limit
        self.cpu_guarantee = pod.cpu_guarantee
        self.mem_limit = pod.mem_limit
        self.mem_guarantee = pod.mem_guarantee
        # The slice's device resources replace any configured GPU request; the other
        # configured extended resources (ephemeral-storage, a NIC, ...) stay. Extended
        # resources cannot be overcommitted: the slice's requests equal its limits.
        self.extra_resource_limits = {
            **_without_gpus(base["extra_resource_limits"]),
            **pod.extra_resource_limits,
        }
        self.extra_resource_guarantees = {
            **_without_gpus(base["extra_resource_guarantees"]),
            **pod.extra_resource_limits,
        }
        self.node_selector = {**base["node_selector"], **pod.node_selector}
        self.tolerations = [*self._sorted_dict_values(base["tolerations"]), *pod.tolerations]
        self.extra_labels = {**base["extra_labels"], **pod.labels}
        self.volumes = [*self._sorted_dict_values(base["volumes"]), *pod.volumes]
        self.volume_mounts = [*self._sorted_dict_values(base["volume_mounts"]), *pod.volume_mounts]

    def slice_env(self, record: AllocationRecord) -> dict[str, str]:
        env = super().slice_env(record)
        env.update(self.pod_slice(record).environment)
        return env

    def engine_reference(self) -> str | None:
        return f"kubernetes:{self.namespace}/{self.pod_name}"


def _without_gpus(resources: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in resources.items() if not k.startswith("nvidia.com/")}
