"""The Slurm batch script: gres per slice, and nothing but typed values ever rendered."""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spawners.backends.slurm_script import (
    ImageRunner,
    ScriptError,
    SlurmJob,
    gres_for_slice,
    render_batch_script,
)

NVML = "nvidia_h100_80gb_hbm3_"

JOB = SlurmJob(
    job_name="sandbox-12",
    workdir="/home/alice",
    output="/home/alice/.sandbox-slurm-%j.log",
    export=("JUPYTERHUB_API_TOKEN", "SANDBOX_SLICE", "PATH"),
    command=("/opt/env/bin/batchspawner-singleuser", "/opt/env/bin/jupyterhub-singleuser"),
    cpus=3,
    memory_mib=17408,
    gres="gpu:1g.10gb:1",
    partition="gpu",
    account="startup-a",
    qos="interactive",
    time_limit="8:00:00",
    comment="sandbox-allocation-12",
)


def test_rendered_script_is_exactly_the_typed_values() -> None:
    assert render_batch_script(JOB) == (
        "#!/bin/bash\n"
        "#SBATCH --job-name=sandbox-12\n"
        "#SBATCH --output=/home/alice/.sandbox-slurm-%j.log\n"
        "#SBATCH --chdir=/home/alice\n"
        "#SBATCH --export=JUPYTERHUB_API_TOKEN,PATH,SANDBOX_SLICE\n"
        "#SBATCH --cpus-per-task=3\n"
        "#SBATCH --mem=17408M\n"
        "#SBATCH --partition=gpu\n"
        "#SBATCH --account=startup-a\n"
        "#SBATCH --qos=interactive\n"
        "#SBATCH --gres=gpu:1g.10gb:1\n"
        "#SBATCH --time=8:00:00\n"
        "#SBATCH --comment=sandbox-allocation-12\n"
        "set -euo pipefail\n"
        "exec /opt/env/bin/batchspawner-singleuser /opt/env/bin/jupyterhub-singleuser\n"
    )


def test_cpu_job_has_no_gres_and_unset_placement_is_omitted() -> None:
    script = render_batch_script(
        dataclasses.replace(JOB, gres=None, partition=None, account="", qos=None, time_limit=None)
    )
    assert "--gres" not in script and "--partition" not in script
    assert "--account" not in script and "--qos" not in script and "--time" not in script


@pytest.mark.parametrize(
    ("slice_name", "types", "expected"),
    [
        ("cpu", {}, None),
        ("1g.10gb", {}, f"gpu:{NVML}1g.10gb:1"),
        ("3g.40gb", {}, f"gpu:{NVML}3g.40gb:1"),
        ("1g.10gb", {"1g.10gb": "1g.10gb"}, "gpu:1g.10gb:1"),
        ("7g.80gb", {"1g.10gb": "1g.10gb"}, f"gpu:{NVML}7g.80gb:1"),
        ("gpu", {}, "gpu:nvidia_h100_80gb_hbm3:1"),
        ("gpu", {"gpu": "h100"}, "gpu:h100:1"),
        ("1g.10gb", {"1g.10gb": ""}, "gpu:1"),
        ("mps.20gb", {}, "mps:25"),
        ("mps.40gb", {}, "mps:50"),
    ],
)
def test_gres_per_slice(slice_name: str, types: dict, expected: str | None) -> None:
    assert gres_for_slice(slice_name, types) == expected
    if expected:
        render_batch_script(dataclasses.replace(JOB, gres=expected))


@pytest.mark.parametrize(
    ("device", "slice_name", "expected"),
    [
        # The names Slurm's AutoDetect=nvml gives these devices (seen on clusters:
        # gpu:nvidia_h100_80gb_hbm3_3g.40gb, gpu:nvidia_h200_2g.35gb, gpu:nvidia_h200_nvl).
        ("NVIDIA H100 80GB HBM3", "3g.40gb", "gpu:nvidia_h100_80gb_hbm3_3g.40gb:1"),
        ("NVIDIA H200", "2g.35gb", "gpu:nvidia_h200_2g.35gb:1"),
        ("NVIDIA H200", "1g.18gb", "gpu:nvidia_h200_1g.18gb:1"),
        ("NVIDIA H200", "gpu", "gpu:nvidia_h200:1"),
        ("NVIDIA H200 NVL", "gpu", "gpu:nvidia_h200_nvl:1"),
        ("NVIDIA H100 NVL", "1g.12gb", "gpu:nvidia_h100_nvl_1g.12gb:1"),
        # A MIG type keeps the name up to its first dash (gpu_nvml.c).
        ("NVIDIA A100-SXM4-40GB", "1g.5gb", "gpu:nvidia_a100_1g.5gb:1"),
        ("NVIDIA A100-SXM4-40GB", "gpu", "gpu:nvidia_a100-sxm4-40gb:1"),
        ("NVIDIA A100-SXM4-80GB", "3g.40gb", "gpu:nvidia_a100_3g.40gb:1"),
        ("NVIDIA H100 PCIe", "gpu", "gpu:nvidia_h100_pcie:1"),
    ],
)
def test_gres_follows_the_gpu_model(device: str, slice_name: str, expected: str) -> None:
    assert gres_for_slice(slice_name, device_name=device) == expected
    render_batch_script(dataclasses.replace(JOB, gres=expected))


# Every way a value could add a line, an option or a command.
HOSTILE = [
    "gpu\n#SBATCH --gres=gpu:7g.80gb:8",
    "gpu --qos=high",
    "gpu; rm -rf ~",
    "$(reboot)",
    "`id`",
    "gpu\r#SBATCH --uid=0",
    "a b",
    "gpu'",
    'gpu"',
    "",
    "-",
    "x" * 200,
    "gpu\x00",
]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("field", ["partition", "account", "qos", "job_name", "comment"])
def test_hostile_names_are_refused(field: str, value: str) -> None:
    if value == "" and field != "job_name":
        return  # empty means "not set" for the optional placement fields
    with pytest.raises(ScriptError):
        render_batch_script(dataclasses.replace(JOB, **{field: value}))


@pytest.mark.parametrize(
    "gres",
    ["gpu:1g.10gb:1\n#SBATCH --gres=gpu:8", "gpu:1g.10gb:1,gpu:7g.80gb:1", "gpu:x:0", "gpu:a b:1"],
)
def test_hostile_gres_is_refused(gres: str) -> None:
    with pytest.raises(ScriptError):
        render_batch_script(dataclasses.replace(JOB, gres=gres))


@pytest.mark.parametrize("path", ["/home/a\nb", "home/a", "/home/a b", "/home/$(id)", "/a/../b"])
def test_hostile_paths_are_refused(path: str) -> None:
    for field in ("workdir", "output"):
        with pytest.raises(ScriptError):
            render_batch_script(dataclasses.replace(JOB, **{field: path}))


@pytest.mark.parametrize("name", ["A=B", "X Y", "X\nY", "1X", "X;Y"])
def test_hostile_export_names_are_refused(name: str) -> None:
    with pytest.raises(ScriptError):
        render_batch_script(dataclasses.replace(JOB, export=(*JOB.export, name)))


@pytest.mark.parametrize(
    "line", ["--gres=gpu:7g.80gb:8", "--partition=x", "--qos=high", "-p x", "--x=a b", "--x=a\n"]
)
def test_extra_options_cannot_override_the_hub(line: str) -> None:
    with pytest.raises(ScriptError):
        render_batch_script(dataclasses.replace(JOB, extra_lines=(line,)))


def test_allowed_extra_option() -> None:
    script = render_batch_script(dataclasses.replace(JOB, extra_lines=("--constraint=h100",)))
    assert "#SBATCH --constraint=h100\n" in script


@pytest.mark.parametrize("value", [0, -1, True, 10**12, "3"])
def test_counts_must_be_positive_integers(value) -> None:
    with pytest.raises(ScriptError):
        render_batch_script(dataclasses.replace(JOB, cpus=value))


def test_command_words_are_quoted_and_control_characters_refused() -> None:
    script = render_batch_script(dataclasses.replace(JOB, command=("/bin/x", "a b; rm -rf ~")))
    assert script.endswith("exec /bin/x 'a b; rm -rf ~'\n")
    with pytest.raises(ScriptError):
        render_batch_script(dataclasses.replace(JOB, command=("/bin/x", "a\nrm -rf ~")))


@given(st.text(max_size=80))
def test_no_text_in_any_field_adds_a_line(value: str) -> None:
    """Whatever lands in a string field, the script keeps its shape or is refused."""
    for field in ("partition", "account", "qos", "job_name", "gres", "workdir", "comment"):
        try:
            script = render_batch_script(dataclasses.replace(JOB, **{field: value or None}))
        except ScriptError:
            continue
        lines = script.splitlines()
        assert all(line.startswith("#SBATCH --") for line in lines[1:-2])
        assert lines[-2:] == ["set -euo pipefail", lines[-1]] and lines[-1].startswith("exec ")
        assert not re.search(r"[\s;&|`$'\"]", value or "")


def test_runners() -> None:
    prefix = ImageRunner("prefix", "/shared/envs/base")
    assert prefix.command(("--debug",)) == (
        "/shared/envs/base/bin/batchspawner-singleuser",
        "/shared/envs/base/bin/jupyterhub-singleuser",
        "--debug",
    )
    apptainer = ImageRunner(
        "apptainer", "/shared/images/vision.sif", binds=(("/srv/models", "/opt/models"),)
    )
    assert apptainer.command(()) == (
        "/usr/bin/apptainer", "exec", "--nv", "--bind", "/srv/models:/opt/models:ro",
        "/shared/images/vision.sif",
        "/opt/sandbox/venv/bin/batchspawner-singleuser",
        "/opt/sandbox/venv/bin/jupyterhub-singleuser",
    )  # fmt: skip
    script = render_batch_script(dataclasses.replace(JOB, command=apptainer.command(())))
    assert "exec /usr/bin/apptainer exec --nv --bind /srv/models:/opt/models:ro " in script
    with pytest.raises(ScriptError):
        ImageRunner("docker", "/x").command(())
