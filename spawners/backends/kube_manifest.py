"""What a slice server's pod gets on Kubernetes, as data. Pure: no cluster, no client.

- MIG slices request the NVIDIA device plugin's extended resource: with the ``mixed``
  strategy ``nvidia.com/mig-<profile>: 1`` on nodes of the GPU model the slice is on
  (``nvidia.com/gpu.product: <product>``); with ``single`` every MIG device is
  ``nvidia.com/gpu`` and the profile is chosen by the node label GPU Feature Discovery
  sets (``nvidia.com/gpu.product: <product>-MIG-<profile>``). The product is the
  model's GPU Feature Discovery label (``NVIDIA-H100-80GB-HBM3``, ``NVIDIA-H200``), from
  the catalogue, or the site's ``gpu_product``.
- A whole GPU requests ``nvidia.com/gpu: 1`` on nodes of its model; an MPS share
  requests one replica of the device plugin's MPS-shared resource
  (``nvidia.com/gpu.shared`` by default), on any GPU node (a shared GPU's product label
  is renamed by the device plugin's sharing settings).
- GPU pods get the GPU node selector and tolerate the GPU taint; cpu pods get neither and
  see no GPU (``NVIDIA_VISIBLE_DEVICES=void``).
- CPU and memory requests and limits come from the slice's host share; the image from the
  site's list; the namespace is the site's, or one per team; labels name the slice, the
  allocation and the team.

``slice_pod`` returns the knobs KubeSpawner takes; KubeSliceSpawner applies them and
KubeSpawner's own ``get_pod_manifest`` builds the pod (tests compare that pod with
recorded ones, tests/backends/kube_pods.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spawners.backends.docker_spec import IMAGE_REF
from spawners.backends.names import safe_slug
from spawners.backends.resources import HostShare
from spawners.core.gpu_models import DEFAULT_MODEL, gfd_product
from spawners.core.profiles import SliceKind, slice_profile
from spawners.core.server_env import ServerEnv

LABEL_PREFIX = "sandbox.ai"
PRODUCT_LABEL = "nvidia.com/gpu.product"
"""GPU Feature Discovery's label of a node's GPU product."""
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
RESOURCE_NAME = re.compile(r"^[a-z0-9.-]{1,200}/[A-Za-z0-9._-]{1,63}$")
LABEL_KEY = re.compile(r"^([a-z0-9.-]{1,253}/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$")


class ManifestError(ValueError):
    """A value that must never reach a pod spec."""


DEFAULT_TOLERATIONS: tuple[dict[str, str], ...] = (
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
)


@dataclass(frozen=True)
class KubeSettings:
    """The site's Kubernetes settings (``hub.backend.kubernetes``), already validated."""

    namespace: str = "sandbox"
    team_namespaces: bool = False
    """One namespace per team (``<namespace>-<team>``) instead of one for everyone."""
    mig_strategy: str = "mixed"
    gpu_product: str = ""
    """Every GPU node's ``nvidia.com/gpu.product``; "": the product of the model of the GPU
    each slice is on."""
    mps_resource: str = "nvidia.com/gpu.shared"
    image_tags: Mapping[str, str] = field(default_factory=dict)
    image_registry: str = "sandbox"
    """Images not in ``image_tags`` run ``<image_registry>/<image>``."""
    gpu_node_selector: Mapping[str, str] = field(
        default_factory=lambda: {"nvidia.com/gpu.present": "true"}
    )
    gpu_tolerations: tuple[Mapping[str, str], ...] = DEFAULT_TOLERATIONS
    model_store_claim: str | None = None
    """A ReadOnlyMany PersistentVolumeClaim holding the model store (None: no store)."""
    model_store_mount: str = "/opt/models"


@dataclass(frozen=True)
class PodSlice:
    """The slice as KubeSpawner's knobs."""

    namespace: str
    image: str
    cpu_limit: float
    cpu_guarantee: float
    mem_limit: int
    mem_guarantee: int
    extra_resource_limits: dict[str, str]
    node_selector: dict[str, str]
    tolerations: tuple[dict[str, str], ...]
    labels: dict[str, str]
    environment: dict[str, str]
    volumes: tuple[dict[str, Any], ...] = ()
    volume_mounts: tuple[dict[str, Any], ...] = ()


def namespace_for(team: str | None, settings: KubeSettings) -> str:
    """The site's namespace, or ``<namespace>-<team slug>`` with per-team namespaces."""
    base = settings.namespace
    if not NAMESPACE.fullmatch(base) or len(base) > 50:
        raise ManifestError("the namespace is not a Kubernetes name of at most 50 characters")
    if not settings.team_namespaces or not team:
        return base
    return f"{base}-{safe_slug(team, 62 - len(base))}"


def gpu_resources(
    slice_name: str, settings: KubeSettings, device_name: str | None = None
) -> tuple[dict[str, str], dict]:
    """(extended resource limits, extra node selector) for a slice on a GPU NVML names
    ``device_name`` (None: a GPU the hub does not know; the product is then not pinned,
    except with the single strategy, which names the default model's)."""
    profile = slice_profile(slice_name)
    if profile.kind is SliceKind.CPU:
        return {}, {}
    product = settings.gpu_product or (gfd_product(device_name) if device_name else "")
    if profile.kind is SliceKind.MIG:
        if settings.mig_strategy == "single":
            single = f"{product or DEFAULT_MODEL.gfd_product}-MIG-{slice_name}"
            return {"nvidia.com/gpu": "1"}, {PRODUCT_LABEL: single}
        return {f"nvidia.com/mig-{slice_name}": "1"}, ({PRODUCT_LABEL: product} if product else {})
    if profile.kind is SliceKind.MPS:
        if not RESOURCE_NAME.fullmatch(settings.mps_resource):
            raise ManifestError("the MPS resource is not an extended resource name")
        return {settings.mps_resource: "1"}, {}
    return {"nvidia.com/gpu": "1"}, ({PRODUCT_LABEL: product} if product else {})


def _labels(pairs: Mapping[str, str]) -> dict[str, str]:
    for key, value in pairs.items():
        if not LABEL_KEY.fullmatch(key) or not LABEL_VALUE.fullmatch(value):
            raise ManifestError("a label is not a valid Kubernetes label")
    return dict(pairs)


def image_for(image: str, settings: KubeSettings) -> str:
    ref = settings.image_tags.get(image) or f"{settings.image_registry}/{image}"
    if not IMAGE_REF.fullmatch(ref):
        raise ManifestError(f"the image configured for {image!r} is not an image reference")
    return ref


def slice_pod(
    *,
    allocation_id: int,
    slice_name: str,
    image: str,
    team: str | None,
    share: HostShare,
    settings: KubeSettings,
    device_name: str | None = None,
) -> PodSlice:
    """The knobs of one allocation's pod. Only typed values from the ledger and the site;
    ``device_name``: the NVML name of the GPU the slice is on."""
    profile = slice_profile(slice_name)
    limits, extra_selector = gpu_resources(slice_name, settings, device_name)
    env = {ServerEnv.SLICE: slice_name}
    if profile.needs_gpu:
        selector = {**settings.gpu_node_selector, **extra_selector}
        tolerations = tuple(dict(t) for t in settings.gpu_tolerations)
    else:
        selector, tolerations = {}, ()
        env.update({"NVIDIA_VISIBLE_DEVICES": "void", ServerEnv.VISIBLE_DEVICES: ""})
    labels = {
        f"{LABEL_PREFIX}/allocation": str(allocation_id),
        f"{LABEL_PREFIX}/slice": slice_name,
    }
    if team:
        labels[f"{LABEL_PREFIX}/team"] = safe_slug(team, 63)
    volumes: tuple[dict[str, Any], ...] = ()
    mounts: tuple[dict[str, Any], ...] = ()
    if settings.model_store_claim:
        if not NAMESPACE.fullmatch(settings.model_store_claim):
            raise ManifestError("the model store claim is not a Kubernetes name")
        volumes = (
            {
                "name": "models",
                "persistentVolumeClaim": {
                    "claimName": settings.model_store_claim,
                    "readOnly": True,
                },
            },
        )
        mounts = ({"name": "models", "mountPath": settings.model_store_mount, "readOnly": True},)
        env[ServerEnv.MODELS] = settings.model_store_mount
    for value in selector.values():
        if not LABEL_VALUE.fullmatch(value):
            raise ManifestError("a node selector value is not a label value")
    return PodSlice(
        namespace=namespace_for(team, settings),
        image=image_for(image, settings),
        cpu_limit=share.cpus,
        cpu_guarantee=share.cpus,
        mem_limit=share.memory_bytes,
        mem_guarantee=share.memory_bytes,
        extra_resource_limits=limits,
        node_selector=_labels(selector),
        tolerations=tolerations,
        labels=_labels(labels),
        environment=env,
        volumes=volumes,
        volume_mounts=mounts,
    )
