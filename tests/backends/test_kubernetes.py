"""Kubernetes: the spawner production configures (hub_config.wiring.configure with a
Kubernetes site), the pods KubeSpawner's own get_pod_manifest builds for it, and real
starts against recorded API objects (tests/backends/kube_api.py; no cluster runs here).

- fixtures/kube/*.yaml: recorded pods (what ``kubectl get pod -o yaml`` shows, reduced to
  the fields the hub decides): every slice kind renders exactly those.
- fixtures/kube/api/: recorded nodes (GPU Operator, MIG mixed and single), the
  scheduler's FailedScheduling event and an unschedulable pod's status: the pods fit the
  nodes that advertise their slice, and a start whose pod cannot be scheduled shows the
  user the scheduler's own words while it waits."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from spawners.backends.kube_manifest import KubeSettings, ManifestError, slice_pod
from spawners.backends.resources import host_share
from tests.backends import inprocess
from tests.backends.kube_api import FakeKubeApi, recorded, use_api_server
from tests.backends.kube_pods import (
    configured,
    decided,
    recorded_pod,
    rendered_pod,
    spawner,
    unfit_reasons,
)

CASES: dict[str, dict[str, Any]] = {
    "mig-1g.10gb-mixed": dict(
        allocation=dict(
            id=12, user="alice", slice_name="1g.10gb", image="vision", team="startup-a"
        ),
        kubernetes=dict(images={"vision": "registry.example/sandbox/vision:2.1"}),
    ),
    "mig-3g.40gb-team-namespace": dict(
        allocation=dict(id=31, user="bob", slice_name="3g.40gb", image="medical", team="course-ml"),
        kubernetes=dict(team_namespaces=True, model_store_claim="sandbox-models"),
    ),
    "mig-2g.20gb-single": dict(
        allocation=dict(id=5, user="carol", slice_name="2g.20gb", image="speech"),
        kubernetes=dict(mig_strategy="single"),
    ),
    "gpu-whole": dict(
        allocation=dict(id=2, user="dave", slice_name="gpu", image="base", team="startup-a"),
        kubernetes={},
    ),
    "mps-20gb": dict(
        allocation=dict(id=9, user="erin", slice_name="mps.20gb", image="legal"), kubernetes={}
    ),
    "cpu": dict(
        allocation=dict(id=3, user="frank", slice_name="cpu", image="base", team="course-ml"),
        kubernetes={},
    ),
}

TEAMS = {
    "course-ml": {"kind": "course", "groups": ["course-ml"]},
    "startup-a": {"kind": "startup", "groups": ["startup-a"]},
}
MESSAGE = "0/3 nodes are available: 3 Insufficient nvidia.com/mig-1g.10gb."


@pytest.fixture(autouse=True)
def _no_cluster(tmp_path: Path, monkeypatch):
    # Rendering a manifest needs a client configuration, never a cluster.
    inprocess.unreachable_kubeconfig(tmp_path, monkeypatch)


def _render(tmp: Path, kubernetes: dict, allocation: dict, **traits: Any) -> dict:
    async def run() -> dict:
        c = configured(tmp, kubernetes)
        for name, value in traits.items():
            setattr(c.KubeSpawner, name, value)
        s = spawner(c, allocation["user"])
        return await rendered_pod(s, inprocess.record(**allocation))

    return asyncio.run(run())


@pytest.mark.parametrize("name", sorted(CASES))
def test_kubespawner_builds_the_recorded_pod(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    pod = _render(tmp_path, case["kubernetes"], case["allocation"])
    # KubeSpawner also passes the hub's own variables; the hub's fields must match exactly.
    assert decided(pod) == decided(recorded_pod(name))
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
    if case["allocation"]["slice_name"] != "cpu":
        # The device plugin picks the device (and runs the MPS daemon); the hub names none.
        assert "CUDA_VISIBLE_DEVICES" not in env
        assert "CUDA_MPS_PIPE_DIRECTORY" not in env
    assert env["SANDBOX_SLICE"] == case["allocation"]["slice_name"]
    assert pod["metadata"]["name"] == recorded_pod(name)["metadata"]["name"]


def test_team_namespace_is_the_sites_namespace_and_the_team(tmp_path: Path) -> None:
    """KubeSpawner's user namespaces (which team namespaces turn on, so it creates them
    and watches them all) must not leak in: <namespace>-<team>, never <ns>-<user>-<team>."""

    async def run() -> tuple[str, dict]:
        c = configured(tmp_path, {"namespace": "labs", "team_namespaces": True})
        assert c.KubeSliceSpawner.enable_user_namespaces is True
        s = spawner(c, "bob")
        before = s.namespace
        record = inprocess.record(
            id=1, user="bob", slice_name="cpu", image="base", team="course-ml"
        )
        return before, await rendered_pod(s, record)

    before, pod = asyncio.run(run())
    assert before == "labs"
    assert pod["metadata"]["namespace"] == "labs-course-ml"


def test_configured_extra_resources_stay_beside_the_slice(tmp_path: Path) -> None:
    """What the chart configures (singleuser.extraResource) reaches the pod; a configured
    GPU request is replaced by the slice's device, in requests and limits alike."""
    pod = _render(
        tmp_path,
        {},
        dict(id=7, user="alice", slice_name="1g.10gb", image="base"),
        extra_resource_guarantees={"ephemeral-storage": "10Gi", "nvidia.com/gpu": "1"},
        extra_resource_limits={"ephemeral-storage": "20Gi", "nvidia.com/gpu": "1"},
    )
    resources = pod["spec"]["containers"][0]["resources"]
    assert resources["requests"]["ephemeral-storage"] == "10Gi"
    assert resources["limits"]["ephemeral-storage"] == "20Gi"
    for kind in ("requests", "limits"):
        assert resources[kind]["nvidia.com/mig-1g.10gb"] == "1"
        assert "nvidia.com/gpu" not in resources[kind]


def test_profiles_and_raw_options_never_reach_the_pod(tmp_path: Path) -> None:
    """KubeSpawner's own profile_list/kubespawner_override path is not used."""

    async def run() -> dict:
        s = spawner(configured(tmp_path, {}), "mallory")
        s.profile_list = [
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
        s.user_options = {"profile": "evil", "extra_resource_limits": {"nvidia.com/gpu": "8"}}
        record = inprocess.record(id=4, user="mallory", slice_name="1g.10gb", image="base")
        return await rendered_pod(s, record)

    pod = asyncio.run(run())
    container = pod["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/mig-1g.10gb"] == "1"
    assert "nvidia.com/gpu" not in container["resources"]["limits"]
    assert pod["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert not (container.get("securityContext") or {}).get("privileged")


@pytest.mark.parametrize(
    ("strategy", "slice_name", "fits"),
    [
        ("mixed", "1g.10gb", {"gpu-a", "gpu-b", "gpu-c"}),
        ("mixed", "3g.40gb", {"gpu-a", "gpu-b", "gpu-c"}),
        ("mixed", "4g.40gb", set()),  # not in the all-balanced layout
        ("mixed", "cpu", set()),  # the GPU taint keeps cpu pods off GPU nodes
        ("single", "2g.20gb", {"gpu-s"}),
        ("single", "1g.10gb", set()),  # gpu-s's GPUs are cut into 2g.20gb
    ],
)
def test_pods_fit_the_recorded_nodes_that_offer_their_slice(
    strategy: str, slice_name: str, fits: set[str], tmp_path: Path
) -> None:
    """The resource names and labels the hub uses are the ones the device plugin and GPU
    Feature Discovery put on real nodes."""
    pod = _render(
        tmp_path,
        {"mig_strategy": strategy},
        dict(id=3, user="alice", slice_name=slice_name, image="base"),
    )
    nodes = recorded("nodes-mig-mixed.json")["items"] + [recorded("node-mig-single.json")]
    fitting = {n["metadata"]["name"] for n in nodes if not unfit_reasons(pod, n)}
    assert fitting == fits


async def _start_until_it_fails(
    s: Any, user_options: dict, timeout: int
) -> tuple[list[str], BaseException]:
    """Start a server, reading its progress as JupyterHub's progress page does; the pod
    never runs, so the start fails after ``timeout`` seconds."""
    s.start_timeout = timeout  # KubeSpawner's wait for the pod
    if s.has_trait("engine_start_timeout"):  # the hub's own bound on the engine's start
        s.engine_start_timeout = timeout
    s.user_options = user_options
    start = asyncio.ensure_future(s.start())
    seen = []
    async for event in s.progress():
        seen.append(event["message"])
    try:
        await start
    except BaseException as e:  # noqa: BLE001 (the start must fail; the test says how)
        return seen, e
    raise AssertionError(f"the start succeeded; progress: {seen}")


async def _with_api(tmp: Path, monkeypatch, body) -> Any:  # noqa: ANN001
    from kubespawner import KubeSpawner

    # KubeSpawner keeps its pod and event reflectors on the class: ones left by an
    # earlier test (another API server, an event loop that is gone) would be reused and
    # see nothing, so start from none.
    KubeSpawner.reflectors.clear()
    api = await FakeKubeApi().start()
    use_api_server(api.url, tmp, monkeypatch)
    try:
        return await body(api)
    finally:
        await KubeSpawner._stop_all_reflectors()
        await api.stop()


def test_user_sees_why_the_scheduler_cannot_place_the_pod(tmp_path: Path, monkeypatch) -> None:
    """The slice's own events, then KubeSpawner's pod events as they come (recorded
    FailedScheduling), then the start fails at start_timeout and the slice is released."""

    async def body(api: FakeKubeApi) -> Any:
        c = configured(tmp_path, {}, {"teams": TEAMS})
        s = spawner(c, "alice", groups=("startup-a",))
        # Long enough for the event watch to deliver the recorded event on a busy
        # machine (3 s was not, during a full run); the start fails at this limit.
        seen, error = await _start_until_it_fails(s, {"image": "base", "slice": "1g.10gb"}, 15)
        return s, seen, error, api

    s, seen, error, api = asyncio.run(_with_api(tmp_path, monkeypatch, body))
    assert any(MESSAGE in m for m in seen), seen
    failed = next(i for i, m in enumerate(seen) if MESSAGE in m)
    assert seen[0].startswith("allocating a 1g.10gb slice")
    starting = next(i for i, m in enumerate(seen) if m.startswith("starting server"))
    assert starting < failed
    assert re.match(r"^\S+ \[Warning\] 0/3 nodes", seen[failed])  # KubeSpawner's format
    assert "start" in str(error)  # KubeSpawner's or the hub's start limit, named
    pod = api.created_pods()[0]
    assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/mig-1g.10gb"] == "1"
    assert s.slice_context.ledger.live() == []  # the slice is given back


def test_team_pods_are_created_in_the_team_namespace(tmp_path: Path, monkeypatch) -> None:
    """A real start with team namespaces: KubeSpawner creates <namespace>-<team> and the
    pod in it (not <hub namespace>-<user>-<team>)."""

    async def body(api: FakeKubeApi) -> Any:
        c = configured(tmp_path, {"namespace": "labs", "team_namespaces": True}, {"teams": TEAMS})
        s = spawner(c, "bob", groups=("course-ml",))
        await _start_until_it_fails(s, {"image": "base", "slice": "cpu"}, 2)
        return api

    api = asyncio.run(_with_api(tmp_path, monkeypatch, body))
    assert api.created_namespaces() == ["labs-course-ml"]
    posts = [r.path for r in api.requests if r.method == "POST" and r.path.endswith("/pods")]
    assert posts == ["/api/v1/namespaces/labs-course-ml/pods"]
    assert api.created_pods()[0]["metadata"]["labels"]["sandbox.ai/team"] == "course-ml"


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


# --- GPU models: node selection and resources follow the GPU the slice is on ----------

MIXED_GPUS = {
    "source": "declared",
    "nodes": [
        {"name": "gpu-a", "gpus": [{"index": 0, "mode": "mig", "layout": [
            {"profile": "3g.40gb", "start": 0}, {"profile": "1g.10gb", "start": 4}]}]},
        {"name": "gpu-h200", "gpus": [{"index": 0, "mode": "mig", "model": "h200-141gb", "layout": [
            {"profile": "3g.71gb", "start": 0}, {"profile": "1g.18gb", "start": 4}]}]},
        {"name": "gpu-a100", "gpus": [{"index": 0, "mode": "whole", "model": "a100-80gb"}]},
    ],
}  # fmt: skip
ALL_NODES = (
    recorded("nodes-mig-mixed.json")["items"]
    + recorded("nodes-models.json")["items"]
    + [recorded("node-mig-single.json")]
)


def _model_pod(tmp: Path, kubernetes: dict, slice_name: str, node: str) -> dict:
    """The pod of a slice reserved through the ledger of a mixed-model site."""

    async def run() -> dict:
        c = configured(tmp, kubernetes, {"gpus": MIXED_GPUS})
        s = spawner(c, "ana")
        ctx = s._ctx
        record = ctx.ledger.reserve(
            user="ana", server_name="", image="base", slice_name=slice_name,
            inventory=ctx.inventory, epoch=ctx.epoch, engine="kubernetes",
        )  # fmt: skip
        assert record.node == node
        return await rendered_pod(s, record)

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("slice_name", "node", "product", "resource", "fits"),
    [
        ("1g.18gb", "gpu-h200", "NVIDIA-H200", "nvidia.com/mig-1g.18gb", {"gpu-h200"}),
        ("3g.71gb", "gpu-h200", "NVIDIA-H200", "nvidia.com/mig-3g.71gb", {"gpu-h200"}),
        (
            "1g.10gb",
            "gpu-a",
            "NVIDIA-H100-80GB-HBM3",
            "nvidia.com/mig-1g.10gb",
            {"gpu-a", "gpu-b", "gpu-c"},
        ),
        ("gpu", "gpu-a100", "NVIDIA-A100-SXM4-80GB", "nvidia.com/gpu", {"gpu-a100"}),
    ],
)
def test_pods_go_to_nodes_of_their_gpus_model(
    slice_name: str, node: str, product: str, resource: str, fits: set[str], tmp_path: Path
) -> None:
    pod = _model_pod(tmp_path, {}, slice_name, node)
    assert pod["spec"]["nodeSelector"]["nvidia.com/gpu.product"] == product
    assert pod["spec"]["containers"][0]["resources"]["limits"][resource] == "1"
    assert {n["metadata"]["name"] for n in ALL_NODES if not unfit_reasons(pod, n)} == fits


def test_single_strategy_names_the_gpus_own_product(tmp_path: Path) -> None:
    pod = _model_pod(tmp_path, {"mig_strategy": "single"}, "1g.18gb", "gpu-h200")
    assert pod["spec"]["nodeSelector"]["nvidia.com/gpu.product"] == "NVIDIA-H200-MIG-1g.18gb"
    assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_the_sites_gpu_product_applies_to_every_gpu(tmp_path: Path) -> None:
    pod = _model_pod(tmp_path, {"gpu_product": "NVIDIA-H200-NVL"}, "1g.18gb", "gpu-h200")
    assert pod["spec"]["nodeSelector"]["nvidia.com/gpu.product"] == "NVIDIA-H200-NVL"
