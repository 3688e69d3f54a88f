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


GPU = "GPU-4f2a7a53-3a55-5d8a-9d38-5b0c2f1e9a11"


def test_mps_share_reaches_its_gpus_mps_daemon() -> None:
    """Exactly its GPU's pipe folder (the mps role's <pipe_directory>/<index>), mounted at
    the same path, the two MPS folders in the environment, and the host's IPC."""
    spec = _spec(slice_name="mps.20gb", device_uuid=GPU, gpu_index=2)
    assert spec.device_requests[0]["DeviceIDs"] == [GPU]
    mps = {k: v for k, v in spec.volumes.items() if "mps" in k}
    assert mps == {"/run/nvidia-mps/2": {"bind": "/run/nvidia-mps/2", "mode": "rw"}}
    assert spec.environment["CUDA_MPS_PIPE_DIRECTORY"] == "/run/nvidia-mps/2"
    assert spec.environment["CUDA_MPS_LOG_DIRECTORY"] == "/var/log/nvidia-mps/2"
    assert spec.ipc_mode == "host"
    moved = DockerSettings(mps_pipe_directory="/srv/mps", mps_log_directory="/srv/mps-logs")
    spec = _spec(slice_name="mps.10gb", device_uuid=GPU, gpu_index=0, settings=moved)
    assert "/srv/mps/0" in spec.volumes and "/run/nvidia-mps/0" not in spec.volumes
    assert spec.environment["CUDA_MPS_LOG_DIRECTORY"] == "/srv/mps-logs/0"
    plain = _spec()
    assert plain.ipc_mode is None and not any("mps" in k for k in plain.volumes)
    assert not any(k.startswith("CUDA_MPS_") for k in plain.environment)


@pytest.mark.parametrize(
    "overrides",
    [
        {"gpu_index": None},
        {"settings": DockerSettings(mps_pipe_directory="/run/../etc")},
        {"settings": DockerSettings(mps_log_directory="relative")},
    ],
)
def test_mps_share_without_its_gpu_or_with_a_bad_folder_is_refused(overrides) -> None:
    with pytest.raises(SpecError):
        _spec(**{"slice_name": "mps.20gb", "device_uuid": GPU, "gpu_index": 1, **overrides})


def test_image_tags_and_device_requests() -> None:
    assert image_tag("base", {}) == "sandbox/base"
    assert image_tag("base", {"base": "registry.example:5000/sandbox/base:2.1"}).endswith(":2.1")
    assert device_request(MIG)["DeviceIDs"] == [MIG]
    assert dataclasses.replace(DockerSettings(), device_requests=False).device_requests is False


def _job(**overrides):
    from spawners.backends.slurm_script import SlurmJob

    kwargs = dict(
        job_name="sandbox-9", workdir="/home/erin", output="/home/erin/.sandbox-slurm-%j.log",
        export=("SANDBOX_SLICE",), command=("/envs/base/bin/batchspawner-singleuser",),
        cpus=4, memory_mib=30720, gres="mps:25",
        mps_folders=(("gpu02", "/run/nvidia-mps/1", "/var/log/nvidia-mps/1"),),
    )  # fmt: skip
    kwargs.update(overrides)
    return SlurmJob(**kwargs)


def test_slurm_mps_job_picks_the_folders_of_the_node_it_runs_on() -> None:
    """Slurm picks the node (one MPS GPU per node): one ``case`` line on SLURMD_NODENAME;
    a node without a declared MPS GPU stops the job instead of running without MPS."""
    from spawners.backends.slurm_script import render_batch_script

    script = render_batch_script(_job())
    line = next(x for x in script.splitlines() if x.startswith("case "))
    assert line == (
        'case "${SLURMD_NODENAME:-}" in gpu02) export CUDA_MPS_PIPE_DIRECTORY=/run/nvidia-mps/1'
        ' CUDA_MPS_LOG_DIRECTORY=/var/log/nvidia-mps/1 ;; *) echo "sandbox: the site file'
        ' declares no MPS GPU on node ${SLURMD_NODENAME:-?}" >&2; exit 1 ;; esac'
    )
    anywhere = render_batch_script(_job(mps_folders=(("*", "/srv/mps/0", "/srv/logs/0"),)))
    assert "*) export CUDA_MPS_PIPE_DIRECTORY=/srv/mps/0" in anywhere and "exit 1" not in anywhere
    assert "case " not in render_batch_script(_job(mps_folders=(), gres="gpu:1g.10gb:1"))


@pytest.mark.parametrize(
    "folders",
    [
        (("gpu02; rm -rf /", "/run/nvidia-mps/1", "/var/log/nvidia-mps/1"),),
        (("gpu02", "/run/nvidia-mps/1 x", "/var/log/nvidia-mps/1"),),
        (("gpu02", "/run/nvidia-mps/%j", "/var/log/nvidia-mps/1"),),
        (("gpu02", "/run/../etc", "/var/log/nvidia-mps/1"),),
        (("", "/run/nvidia-mps/1", "/var/log/nvidia-mps/1"),),
    ],
)
def test_slurm_mps_folders_never_reach_a_script_unchecked(folders) -> None:
    from spawners.backends.slurm_script import ScriptError, render_batch_script

    with pytest.raises(ScriptError):
        render_batch_script(_job(mps_folders=folders))


def test_apptainer_binds_the_mps_pipe_directory_writable() -> None:
    from spawners.backends.slurm_script import ImageRunner

    runner = ImageRunner(
        "apptainer", "/shared/legal.sif", binds=(("/shared/models", "/opt/models"),),
        writable_binds=(("/run/nvidia-mps", "/run/nvidia-mps"),),
    )  # fmt: skip
    words = runner.command(())
    assert words[:7] == (
        "/usr/bin/apptainer", "exec", "--nv", "--bind", "/shared/models:/opt/models:ro",
        "--bind", "/run/nvidia-mps:/run/nvidia-mps:rw",
    )  # fmt: skip


@pytest.mark.parametrize(
    "folder", ["relative/mps", "/run/../etc", "/run/nvidia-mps/", "/run//mps", "/run/mps x"]
)
def test_site_refuses_mps_folders_that_are_not_plain_absolute(folder, tmp_path) -> None:
    from hub_config.site import SiteError, load_site

    site = tmp_path / "site.yaml"
    site.write_text(f"site: {{name: t}}\ngpus: {{mps: {{pipe_directory: '{folder}'}}}}\n")
    with pytest.raises(SiteError, match="gpus.mps.pipe_directory"):
        load_site(site, env={})
