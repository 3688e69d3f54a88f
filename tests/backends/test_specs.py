"""Pure pieces shared by the engines: names, host shares, the container spec."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spawners.backends.docker_spec import (
    DockerSettings,
    SpecError,
    container_spec,
    device_request,
    image_tag,
)
from spawners.backends.names import safe_slug, server_slug
from spawners.backends.resources import HostShare, NodeShape, host_share
from spawners.core.profiles import H100_MIG_PROFILES, SLICE_NAMES

MIG = "MIG-4f2a7a53-3a55-5d8a-9d38-5b0c2f1e9a11"


@given(st.text(max_size=80), st.text(max_size=30))
def test_server_slugs_are_always_valid(user: str, server: str) -> None:
    slug = server_slug(user, server, 40)
    assert 0 < len(slug) <= 40 or user == server == ""
    assert all(c.isascii() and (c.isalnum() or c == "-") for c in slug)
    assert slug == slug.lower()


def test_slugs_keep_valid_names_and_never_collide() -> None:
    assert server_slug("alice", "") == "alice"
    assert server_slug("alice", "gpu") == "alice--gpu"
    assert server_slug("a--b", "") != server_slug("a", "b")
    assert safe_slug("Alice") != safe_slug("alice")
    assert "---" in safe_slug("x;rm -rf /")


def test_host_share_follows_the_slice_weight() -> None:
    shape = NodeShape(cpus_per_gpu=14, memory_gb_per_gpu=112)
    assert host_share("7g.80gb", shape) == HostShare(14000, 112 * 1024)
    assert host_share("1g.10gb", shape) == HostShare(2000, 16 * 1024)
    assert host_share("3g.40gb", shape) == HostShare(7000, 56 * 1024)
    assert host_share("cpu", shape) == HostShare(2000, 4 * 1024)
    # A full GPU's slices never add up to more than the node has.
    for profile in H100_MIG_PROFILES:
        share = host_share(profile.name, shape)
        assert share.cpu_millis * profile.max_per_gpu <= 14000
        assert share.memory_mib * profile.max_per_gpu <= 112 * 1024
        assert share.whole_cpus * profile.max_per_gpu <= 14
    for name in SLICE_NAMES:
        assert host_share(name).whole_cpus >= 1


def _spec(**overrides):
    kwargs = dict(
        user="alice",
        server_name="",
        allocation_id=7,
        slice_name="1g.10gb",
        image="vision",
        device_uuid=MIG,
        share=HostShare(2000, 4096),
        settings=DockerSettings(model_store="/srv/models"),
    )
    kwargs.update(overrides)
    return container_spec(**kwargs)


def test_container_gets_exactly_its_slice() -> None:
    spec = _spec()
    assert spec.image == "sandbox/vision"
    assert spec.device_requests == (
        {"Driver": "nvidia", "DeviceIDs": [MIG], "Capabilities": [["gpu"]]},
    )
    assert spec.environment == {
        "NVIDIA_VISIBLE_DEVICES": MIG,
        "CUDA_VISIBLE_DEVICES": MIG,
        "SANDBOX_MODELS": "/opt/models",
    }
    assert spec.memory_bytes == 4096 * 1024 * 1024 and spec.cpus == 2.0
    assert spec.volumes == {
        "sandbox-home-alice": {"bind": "/home/jovyan", "mode": "rw"},
        "/srv/models": {"bind": "/opt/models", "mode": "ro"},
    }
    assert spec.labels["sandbox.ai/allocation"] == "7"


def test_cpu_container_sees_no_gpu_and_requests_off_drop_the_request() -> None:
    cpu = _spec(slice_name="cpu", device_uuid=None)
    assert cpu.device_requests == ()
    assert cpu.environment["NVIDIA_VISIBLE_DEVICES"] == "void"
    assert cpu.environment["CUDA_VISIBLE_DEVICES"] == ""
    off = _spec(settings=DockerSettings(device_requests=False))
    assert off.device_requests == () and off.environment["CUDA_VISIBLE_DEVICES"] == MIG


@pytest.mark.parametrize(
    "overrides",
    [
        {"device_uuid": "MIG-x; rm -rf /"},
        {"device_uuid": "all"},
        {"device_uuid": None},
        {"settings": DockerSettings(image_tags={"vision": "Evil Image"})},
        {"settings": DockerSettings(model_store="/srv/models:/etc")},
        {"settings": DockerSettings(home_mount="/home/jovyan,/etc")},
        {"settings": DockerSettings(home_volume_prefix="/etc")},
    ],
)
def test_hostile_or_broken_values_never_reach_the_spec(overrides) -> None:
    with pytest.raises(SpecError):
        _spec(**overrides)


def test_mps_share_reaches_the_nodes_mps_daemon() -> None:
    spec = _spec(slice_name="mps.20gb", device_uuid="GPU-4f2a7a53-3a55-5d8a-9d38-5b0c2f1e9a11")
    assert spec.device_requests[0]["DeviceIDs"] == ["GPU-4f2a7a53-3a55-5d8a-9d38-5b0c2f1e9a11"]
    assert spec.volumes["/tmp/nvidia-mps"] == {"bind": "/tmp/nvidia-mps", "mode": "rw"}
    assert spec.environment["CUDA_MPS_PIPE_DIRECTORY"] == "/tmp/nvidia-mps"
    assert spec.ipc_mode == "host"
    assert _spec().ipc_mode is None and "/tmp/nvidia-mps" not in _spec().volumes


def test_image_tags_and_device_requests() -> None:
    assert image_tag("base", {}) == "sandbox/base"
    assert image_tag("base", {"base": "registry.example:5000/sandbox/base:2.1"}).endswith(":2.1")
    assert device_request(MIG)["DeviceIDs"] == [MIG]
    assert dataclasses.replace(DockerSettings(), device_requests=False).device_requests is False
