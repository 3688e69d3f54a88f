"""Kubernetes test helpers: a KubeSliceSpawner configured the way production configures
it (hub_config.wiring.configure with a Kubernetes site), its pod as KubeSpawner's own
``get_pod_manifest`` renders it, the fields of a pod the hub decides, and the scheduler's
fit rules (node selector, taints, extended resources) against recorded nodes."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml
from traitlets.config import Config

from hub_config.site import load_site
from hub_config.wiring import configure
from tests.backends import inprocess

FIXTURES = Path(__file__).parent / "fixtures" / "kube"


def kube_site(tmp: Path, kubernetes: dict, extra: dict | None = None) -> Path:
    """A site file with the Kubernetes backend (servers reach the hub at its Service)."""
    doc: dict[str, Any] = {
        "site": {"name": "kube test"},
        "hub": {
            "internal_url": "http://hub",
            "start_timeout": 5,
            "backend": {"kind": "kubernetes", "kubernetes": kubernetes},
        },
        "gpus": {"source": "simulated", "simulated_count": 1},
    }
    for key, value in (extra or {}).items():
        doc[key] = value
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def configured(tmp: Path, kubernetes: dict, extra: dict | None = None) -> Config:
    """The JupyterHub config production builds for that site."""
    c = Config()
    site = load_site(kube_site(tmp, kubernetes, extra), env={})
    ctx = configure(c, site, env={"SANDBOX_DATA": str(tmp / "data")})
    # What the hub's start-up does before any spawn: the ledger's tables.
    ctx.ledger.create_schema()
    return c


def spawner(c: Config, user: str, groups: tuple[str, ...] = ()) -> Any:
    """The hub's spawner class, as JupyterHub would make it for one user's server."""
    cls = c.JupyterHub.spawner_class
    person = inprocess.user(user)
    person.groups = [SimpleNamespace(name=g) for g in groups]
    return cls(config=c, user=person, hub=inprocess.hub(), _mock=True)


async def rendered_pod(spawner: Any, allocation: Any) -> dict:
    """The pod KubeSpawner would create for an allocation, as plain API JSON."""
    from kubernetes_asyncio.client import ApiClient

    spawner.allocation = allocation
    await spawner.load_user_options()
    pod = ApiClient().sanitize_for_serialization(await spawner.get_pod_manifest())
    # KubeSpawner sends the namespace with the create call, not in the manifest.
    pod["metadata"]["namespace"] = spawner.namespace
    return pod


_UNITS = {"": 1, "m": 0.001, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def quantity(value: Any) -> float:
    """A Kubernetes quantity ('2285m', '17554Mi', 2.285, 18406703104) as a number."""
    if isinstance(value, int | float):
        return float(value)
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value)).groups()
    return float(number) * _UNITS[unit]


def decided(pod: dict) -> dict:
    """The fields the hub decides, normalised (quantities as numbers, env as a dict)."""
    spec = pod["spec"]
    container = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in container.get("env") or []}
    resources = {
        kind: {k: quantity(v) for k, v in (container.get("resources") or {}).get(kind, {}).items()}
        for kind in ("limits", "requests")
    }
    return {
        "namespace": pod["metadata"].get("namespace"),
        "labels": {
            k: v
            for k, v in pod["metadata"].get("labels", {}).items()
            if k.startswith("sandbox.ai/")
        },
        "image": container["image"],
        "resources": resources,
        "nodeSelector": spec.get("nodeSelector") or {},
        "tolerations": spec.get("tolerations") or [],
        "volumes": spec.get("volumes") or [],
        "volumeMounts": container.get("volumeMounts") or [],
        "gpu_env": {
            k: env[k] for k in ("CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES") if k in env
        },
    }


def recorded_pod(name: str) -> dict:
    return yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())


def _tolerates(tolerations: list[dict], taint: dict) -> bool:
    for t in tolerations:
        if t.get("effect") not in (None, "", taint.get("effect")):
            continue
        if t.get("operator") == "Exists" and t.get("key") in (None, "", taint["key"]):
            return True
        if t.get("key") == taint["key"] and t.get("value") == taint.get("value"):
            return True
    return False


def unfit_reasons(pod: dict, node: dict) -> list[str]:
    """Why kube-scheduler's NodeAffinity, TaintToleration and NodeResourcesFit filters
    would refuse the pod on this node (empty: it fits an empty node)."""
    spec, labels = pod["spec"], node["metadata"].get("labels") or {}
    why = []
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            why.append(f"node selector {key}={value}")
    for taint in node["spec"].get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(
            spec.get("tolerations") or [], taint
        ):
            why.append(f"untolerated taint {taint['key']}")
    allocatable = node["status"]["allocatable"]
    for container in spec["containers"]:
        for name, amount in ((container.get("resources") or {}).get("requests") or {}).items():
            if quantity(amount) > quantity(allocatable.get(name, 0)):
                why.append(f"Insufficient {name}")
    return why
