"""Kubernetes at manifest level: the pod a slice becomes, compared with recorded pods.

Each fixture under fixtures/kube/ is a real-shaped pod (what ``kubectl get pod -o yaml``
shows, reduced to the fields the hub decides). Both the pure builder and the real
KubeSpawner (through KubeSliceSpawner, no cluster needed to build a manifest) must
produce exactly those fields."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from spawners.backends.kube_manifest import (
    KubeSettings,
    ManifestError,
    pod_manifest,
    slice_pod,
)
from spawners.backends.resources import host_share
from tests.backends import inprocess

FIXTURES = Path(__file__).parent / "fixtures" / "kube"

CASES: dict[str, dict[str, Any]] = {
    "mig-1g.10gb-mixed": dict(
        allocation=dict(
            id=12, user="alice", slice_name="1g.10gb", image="vision", team="startup-a"
        ),
        settings=dict(image_tags={"vision": "registry.example/sandbox/vision:2.1"}),
    ),
    "mig-3g.40gb-team-namespace": dict(
        allocation=dict(id=31, user="bob", slice_name="3g.40gb", image="medical", team="course-ml"),
        settings=dict(team_namespaces=True, model_store_claim="sandbox-models"),
    ),
    "mig-2g.20gb-single": dict(
        allocation=dict(id=5, user="carol", slice_name="2g.20gb", image="speech"),
        settings=dict(mig_strategy="single"),
    ),
    "gpu-whole": dict(
        allocation=dict(id=2, user="dave", slice_name="gpu", image="base", team="startup-a"),
        settings={},
    ),
    "mps-20gb": dict(
        allocation=dict(id=9, user="erin", slice_name="mps.20gb", image="legal"), settings={}
    ),
    "cpu": dict(
        allocation=dict(id=3, user="frank", slice_name="cpu", image="base", team="course-ml"),
        settings={},
    ),
}

_UNITS = {"": 1, "m": 0.001, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


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


def fixture(name: str) -> dict:
    return yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())


@pytest.mark.parametrize("name", sorted(CASES))
def test_pure_manifest_matches_the_recorded_pod(name: str) -> None:
    case = CASES[name]
    a = case["allocation"]
    pod = slice_pod(
        allocation_id=a["id"],
        slice_name=a["slice_name"],
        image=a["image"],
        team=a.get("team"),
        share=host_share(a["slice_name"]),
        settings=KubeSettings(**case["settings"]),
    )
    manifest = pod_manifest(pod, name=f"jupyter-{a['user']}", env={})
    assert decided(manifest) == decided(fixture(name))
    assert manifest["metadata"]["name"] == fixture(name)["metadata"]["name"]


def _spawner(tmp_path: Path, monkeypatch, settings: dict):
    from spawners.backends.kubernetes import KubeSliceSpawner

    inprocess.unreachable_kubeconfig(tmp_path, monkeypatch)
    traits = {
        "namespace": "sandbox",
        "image_tags": settings.get("image_tags", {}),
        "team_namespaces": settings.get("team_namespaces", False),
        "mig_strategy": settings.get("mig_strategy", "mixed"),
        "model_store_claim": settings.get("model_store_claim") or "",
    }
    return KubeSliceSpawner(
        _mock=True,
        user=inprocess.user("x"),
        hub=inprocess.hub(),
        slice_context=inprocess.slice_context(tmp_path),
        k8s_api_request_retry_timeout=2,
        **traits,
    )


async def _kubespawner_pod(spawner, allocation) -> dict:
    from kubernetes_asyncio.client import ApiClient

    spawner.allocation = allocation
    await spawner.load_user_options()
    pod = ApiClient().sanitize_for_serialization(await spawner.get_pod_manifest())
    # KubeSpawner sends the namespace with the create call, not in the manifest.
    pod["metadata"]["namespace"] = spawner.namespace
    return pod


@pytest.mark.parametrize("name", sorted(CASES))
def test_kubespawner_builds_the_recorded_pod(name: str, tmp_path: Path, monkeypatch) -> None:
    case = CASES[name]

    async def run() -> dict:
        spawner = _spawner(tmp_path, monkeypatch, case["settings"])
        return await _kubespawner_pod(spawner, inprocess.record(**case["allocation"]))

    pod = asyncio.run(run())
    expected = decided(fixture(name))
    got = decided(pod)
    # KubeSpawner also passes the hub's own variables; the GPU ones must match exactly.
    assert got == expected
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    if case["allocation"]["slice_name"] != "cpu":
        # The device plugin picks the device; the hub must not name one.
        assert "CUDA_VISIBLE_DEVICES" not in env
    assert env["SANDBOX_SLICE"] == case["allocation"]["slice_name"]


def test_profiles_and_raw_options_never_reach_the_pod(tmp_path: Path, monkeypatch) -> None:
    """KubeSpawner's own profile_list/kubespawner_override path is not used."""

    async def run() -> dict:
        spawner = _spawner(tmp_path, monkeypatch, {})
        spawner.profile_list = [
            {
                "display_name": "evil",
                "slug": "evil",
                "kubespawner_override": {
                    "extra_resource_limits": {"nvidia.com/gpu": "8"},
                    "node_selector": {"kubernetes.io/hostname": "admin-node"},
                    "privileged": True,
                },
            }
        ]
        spawner.user_options = {"profile": "evil", "extra_resource_limits": {"nvidia.com/gpu": "8"}}
        return await _kubespawner_pod(
            spawner, inprocess.record(id=4, user="mallory", slice_name="1g.10gb", image="base")
        )

    pod = asyncio.run(run())
    container = pod["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/mig-1g.10gb"] == "1"
    assert "nvidia.com/gpu" not in container["resources"]["limits"]
    assert pod["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert not (container.get("securityContext") or {}).get("privileged")


@pytest.mark.parametrize(
    "settings",
    [
        KubeSettings(image_tags={"base": "Evil Image; rm"}),
        KubeSettings(namespace="Bad_NS"),
        KubeSettings(gpu_node_selector={"nvidia.com/gpu.present": "true\nx"}),
        KubeSettings(mps_resource="gpu shared"),
        KubeSettings(model_store_claim="../etc"),
    ],
)
def test_broken_settings_never_reach_a_pod(settings: KubeSettings) -> None:
    with pytest.raises(ManifestError):
        slice_pod(
            allocation_id=1,
            slice_name="mps.10gb" if "shared" in settings.mps_resource else "1g.10gb",
            image="base",
            team=None,
            share=host_share("1g.10gb"),
            settings=settings,
        )


def test_team_namespaces_are_always_valid_names() -> None:
    settings = KubeSettings(team_namespaces=True)
    for team in ("startup-a", "Course ML 2025", "x" * 80, "a--b"):
        pod = slice_pod(
            allocation_id=1, slice_name="cpu", image="base", team=team,
            share=host_share("cpu"), settings=settings,
        )  # fmt: skip
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", pod.namespace)
        assert pod.namespace.startswith("sandbox-")
