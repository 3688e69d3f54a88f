"""The Slurm batch script of a slice server, rendered only from typed, validated values.

batchspawner renders its template with every raw user_options key merged in, so a user
can rewrite ``--gres``/``--partition`` or add lines and commands. Here nothing a user
typed is ever rendered: the job is a frozen dataclass whose fields come from the
allocation and the site file, every field is checked against a strict pattern before a
line is written (a newline, a quote or a shell character in any of them is a
``ScriptError``), and the command line is shell-quoted word by word. Pure: no I/O.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from spawners.core.gpu_models import DEFAULT_MODEL, slurm_gres_type
from spawners.core.profiles import SliceKind, slice_profile

# Slurm names (partition, account, QOS, gres types, node names): no spaces, no quotes,
# nothing a shell or the #SBATCH parser would treat specially.
SLURM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$")
GRES = re.compile(r"^[A-Za-z0-9_]+(:[A-Za-z0-9][A-Za-z0-9_.+-]*)?:[1-9][0-9]{0,3}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
# Absolute paths made of ordinary characters; %j (job id) is allowed in output paths.
PATH = re.compile(r"^/[A-Za-z0-9._/@+%-]{0,4095}$")
TIME_LIMIT = re.compile(r"^([0-9]{1,4}-)?[0-9]{1,3}(:[0-9]{2}){0,2}$|^UNLIMITED$|^INFINITE$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ScriptError(ValueError):
    """A value that must never be written into a batch script."""


@dataclass(frozen=True)
class ImageRunner:
    """How an image runs on the cluster.

    ``prefix``: a Python environment on the nodes' shared filesystem (its ``bin/`` holds
    ``batchspawner-singleuser`` and ``jupyterhub-singleuser``). ``apptainer``: an
    Apptainer/Singularity image file run with ``apptainer exec --nv`` (the image's
    environment at ``image_prefix`` holds the same two commands)."""

    kind: str  # "prefix" | "apptainer"
    path: str
    image_prefix: str = "/opt/sandbox/venv"
    apptainer: str = "/usr/bin/apptainer"
    binds: tuple[tuple[str, str], ...] = ()
    """Read-only (host path, container path) binds for apptainer (the model store)."""
    writable_binds: tuple[tuple[str, str], ...] = ()
    """Read-write binds for apptainer (an MPS share: the node's MPS pipe directory)."""

    def command(self, singleuser_args: tuple[str, ...]) -> tuple[str, ...]:
        if self.kind == "prefix":
            bin_dir = self.path.rstrip("/") + "/bin"
            return (
                f"{bin_dir}/batchspawner-singleuser",
                f"{bin_dir}/jupyterhub-singleuser",
                *singleuser_args,
            )
        if self.kind == "apptainer":
            bind_args: list[str] = []
            for host, inside in self.binds:
                bind_args += ["--bind", f"{host}:{inside}:ro"]
            for host, inside in self.writable_binds:
                bind_args += ["--bind", f"{host}:{inside}:rw"]
            bin_dir = self.image_prefix.rstrip("/") + "/bin"
            return (
                self.apptainer,
                "exec",
                "--nv",
                *bind_args,
                self.path,
                f"{bin_dir}/batchspawner-singleuser",
                f"{bin_dir}/jupyterhub-singleuser",
                *singleuser_args,
            )
        raise ScriptError(f"unknown image runner kind {self.kind!r}")


@dataclass(frozen=True)
class SlurmJob:
    """Everything a slice server's batch script says, as typed values."""

    job_name: str
    workdir: str
    output: str
    export: tuple[str, ...]
    command: tuple[str, ...]
    cpus: int
    memory_mib: int
    gres: str | None = None
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time_limit: str | None = None
    hide_gpus: bool = False
    """cpu jobs: Slurm unsets CUDA_VISIBLE_DEVICES for a job without GPU gres, which CUDA
    reads as "every GPU"; the script sets it empty (ConstrainDevices enforces it)."""
    comment: str | None = None
    """``sandbox-allocation-<id>``: lets reconciliation tell our job from a reused id."""
    extra_lines: tuple[str, ...] = field(default=())
    """Site-provided ``#SBATCH`` options, each one ``--name=value`` checked like the rest."""
    mps_folders: tuple[tuple[str, str, str], ...] = ()
    """An MPS share: (node, pipe folder, log folder) per node with an MPS GPU. Slurm picks
    the node (and uses at most one MPS GPU per node), so the script exports
    CUDA_MPS_PIPE_DIRECTORY/CUDA_MPS_LOG_DIRECTORY for the node it runs on; node ``*``:
    any node (a hub whose inventory names no nodes)."""


def gres_for_slice(
    slice_name: str,
    gres_types: Mapping[str, str] | None = None,
    gres_name: str = "gpu",
    device_name: str | None = None,
) -> str | None:
    """The ``--gres`` value for a slice; None for ``cpu``.

    MIG slices and whole GPUs: ``gpu:<type>:1``, the type Slurm's ``AutoDetect=nvml``
    (and the slurm Ansible role's gres.conf) gives that device of the GPU the slice is
    on, from its NVML name ``device_name`` (None: the default model's):
    ``nvidia_h200_1g.18gb``, ``nvidia_a100_1g.5gb``; a whole H100 80GB
    ``nvidia_h100_80gb_hbm3`` (typed: an untyped ``gpu:1`` could be granted a MIG
    instance). A site's mapping (slice name -> type) replaces that on every model. An
    MPS share: Slurm's own ``mps:<percent of the GPU>``, or the mapping. A type mapped
    to '' asks for any GPU (``gpu:1``)."""
    profile = slice_profile(slice_name)
    types = dict(gres_types or {})
    if profile.kind is SliceKind.CPU:
        return None
    if slice_name in types:
        kind = types[slice_name]
        return f"{gres_name}:{kind}:1" if kind else f"{gres_name}:1"
    if profile.kind is SliceKind.MPS:
        return f"mps:{profile.mps_thread_percentage}"
    device = device_name or DEFAULT_MODEL.nvml_name
    mig = slice_name if profile.kind is SliceKind.MIG else None
    return f"{gres_name}:{slurm_gres_type(device, mig)}:1"


def _name(value: str | None, what: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not SLURM_NAME.fullmatch(value):
        raise ScriptError(f"{what} is not a valid Slurm name")
    return value


def _path(value: str, what: str) -> str:
    if not isinstance(value, str) or not PATH.fullmatch(value) or "/../" in f"{value}/":
        raise ScriptError(f"{what} is not a plain absolute path")
    return value


def _positive(value: int, what: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ScriptError(f"{what} must be a whole number from 1 to {high}")
    return value


def _word(word: str) -> str:
    if not isinstance(word, str) or _CONTROL.search(word) or len(word) > 4096:
        raise ScriptError("a command word holds a control character or is too long")
    return shlex.quote(word)


_EXTRA = re.compile(r"^--[a-z][a-z-]{1,40}(=[A-Za-z0-9_.:,+/@%-]{1,200})?$")
# Options that would undo what the hub decided: never accepted as extra lines.
_RESERVED = frozenset(
    {
        "gres", "gpus", "gpus-per-node", "gpus-per-task", "gpus-per-socket", "partition",
        "account", "qos", "export", "chdir", "output", "error", "wrap", "uid", "gid",
        "cpus-per-task", "mem", "mem-per-cpu", "mem-per-gpu", "job-name", "comment",
        "get-user-env", "tres-per-task",
    }
)  # fmt: skip


def _extra(line: str) -> str:
    if not isinstance(line, str) or not _EXTRA.fullmatch(line):
        raise ScriptError("an extra #SBATCH option is not of the form --name=value")
    name = line[2:].split("=", 1)[0]
    if name in _RESERVED:
        raise ScriptError(f"--{name} is set by the hub and cannot be an extra option")
    return line


def _mps_line(folders: tuple[tuple[str, str, str], ...]) -> str:
    """One ``case`` on the node's name exporting that node's MPS pipe and log folders; a
    node with none declared stops the job with a message in its log."""
    cases = []
    for node, pipes, logs in folders:
        if node != "*" and not _name(node, "MPS node name"):
            raise ScriptError("an MPS node name is empty")
        pattern = "*" if node == "*" else node
        pipes = _path(pipes, "MPS pipe folder")
        logs = _path(logs, "MPS log folder")
        if "%" in pipes + logs:
            raise ScriptError("an MPS folder holds a %")
        cases.append(
            f"{pattern}) export CUDA_MPS_PIPE_DIRECTORY={_word(pipes)} "
            f"CUDA_MPS_LOG_DIRECTORY={_word(logs)} ;;"
        )
    if not any(node == "*" for node, _, _ in folders):
        cases.append(
            '*) echo "sandbox: the site file declares no MPS GPU on node ${SLURMD_NODENAME:-?}"'
            " >&2; exit 1 ;;"
        )
    return f'case "${{SLURMD_NODENAME:-}}" in {" ".join(cases)} esac'


def render_batch_script(job: SlurmJob) -> str:
    """The batch script, or ScriptError if any value is not what its field allows."""
    if not job.command:
        raise ScriptError("the job has no command")
    if job.gres is not None and not GRES.fullmatch(job.gres):
        raise ScriptError("gres is not of the form name[:type]:count")
    if job.time_limit and not TIME_LIMIT.fullmatch(job.time_limit):
        raise ScriptError("time limit is not a Slurm time")
    for name in job.export:
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
            raise ScriptError("an exported variable name is not a plain identifier")
    if not _name(job.job_name, "job name"):
        raise ScriptError("the job has no name")
    options = [
        f"--job-name={job.job_name}",
        f"--output={_path(job.output, 'output path')}",
        f"--chdir={_path(job.workdir, 'working folder')}",
        # Only the named variables travel (their values come from sbatch's environment,
        # never from this script); "NONE" when there are none.
        f"--export={','.join(sorted(set(job.export))) or 'NONE'}",
        f"--cpus-per-task={_positive(job.cpus, 'cpus', 4096)}",
        f"--mem={_positive(job.memory_mib, 'memory', 1 << 30)}M",
    ]
    for flag, value, what in (
        ("partition", job.partition, "partition"),
        ("account", job.account, "account"),
        ("qos", job.qos, "QOS"),
    ):
        if _name(value, what):
            options.append(f"--{flag}={value}")
    if job.gres:
        options.append(f"--gres={job.gres}")
    if job.time_limit:
        options.append(f"--time={job.time_limit}")
    if _name(job.comment, "comment"):
        options.append(f"--comment={job.comment}")
    options += [_extra(line) for line in job.extra_lines]
    command = " ".join(_word(w) for w in job.command)
    body = ["set -euo pipefail"]
    if job.hide_gpus:
        body.append('export CUDA_VISIBLE_DEVICES=""')
    if job.mps_folders:
        body.append(_mps_line(job.mps_folders))
    lines = [
        "#!/bin/bash",
        *(f"#SBATCH {option}" for option in options),
        *body,
        f"exec {command}",
        "",
    ]
    script = "\n".join(lines)
    # Belt and braces: one line per option and the fixed lines, nothing else.
    if script.count("\n") != len(options) + len(body) + 2:
        raise ScriptError("a value produced an extra line")
    return script
