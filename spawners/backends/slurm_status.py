"""What Slurm says about a job, read from its commands' output. Pure: text in, values out.

The conversation itself (which command, with which arguments) lives in
``slurm_jobs.py``; these functions only parse, so they are tested against recorded output.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PENDING_STATES = frozenset({"PENDING", "CONFIGURING", "REQUEUED", "RESIZING", "SUSPENDED"})
RUNNING_STATES = frozenset({"RUNNING", "COMPLETING"})

# Pending reasons that mean the job can never start as submitted: waiting is pointless.
NEVER_REASONS = frozenset(
    {
        "BadConstraints", "PartitionConfig", "PartitionNodeLimit", "PartitionTimeLimit",
        "InvalidAccount", "InvalidQOS", "QOSMaxGRESPerJob", "AssocMaxGRESPerJob",
        "QOSMaxCpuPerJobLimit", "QOSMaxMemoryPerJob", "QOSMaxWallDurationPerJobLimit",
        "AssocMaxWallDurationPerJobLimit", "AssocMaxCpuPerJobLimit", "QOSMaxNodePerJobLimit",
        "DependencyNeverSatisfied", "JobLaunchFailure", "NodeDown",
    }
)  # fmt: skip

# Pending reasons that mean "busy": the resources exist but others hold them.
BUSY_REASONS = frozenset({"Resources", "Priority", "ReqNodeNotAvail", "Reservation"})

# sbatch's errors for a request no node of the cluster could ever satisfy.
NEVER_SUBMIT_ERRORS = (
    "Requested node configuration is not available",
    "Invalid generic resource (gres) specification",
    "Invalid Trackable RESource (TRES) specification",
)


@dataclass(frozen=True)
class JobView:
    """One job as ``squeue -h -j ID -o '%T|%B|%r'`` shows it; None if Slurm forgot it."""

    state: str
    node: str
    reason: str

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def running(self) -> bool:
        return self.state in RUNNING_STATES

    @property
    def can_never_run(self) -> bool:
        return self.pending and self.reason in NEVER_REASONS

    @property
    def evaluated_and_waiting(self) -> bool:
        """The scheduler looked at it and it must wait for others ("None": not yet looked)."""
        return self.pending and self.reason in BUSY_REASONS


SQUEUE_FORMAT = "%T|%B|%r"


def parse_squeue_job(output: str) -> JobView | None:
    """The job's line of ``squeue -h -j ID -o '%T|%B|%r'``; None for no line (gone)."""
    for line in output.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3 and parts[0]:
            return JobView(state=parts[0], node=parts[1], reason=parts[2])
    return None


QUEUE_FORMAT = "%i|%Q"


def queue_position(job_id: str, output: str) -> int | None:
    """1-based position of ``job_id`` among pending jobs (``squeue -h -t PENDING -o
    '%i|%Q'``, same partition): higher priority first, then older job ids."""
    jobs: list[tuple[int, int]] = []
    mine: tuple[int, int] | None = None
    for line in output.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 2 or not parts[0].isdigit() or not parts[1].isdigit():
            continue
        key = (-int(parts[1]), int(parts[0]))
        jobs.append(key)
        if parts[0] == job_id:
            mine = key
    if mine is None:
        return None
    return 1 + sum(1 for key in jobs if key < mine)


@dataclass(frozen=True)
class Grant:
    """Generic resources Slurm gave a job on one node (``scontrol show job -d``)."""

    node: str
    gres: str
    indices: tuple[int, ...]

    def describe(self) -> str:
        """What the ledger records as the granted device: node, gres and device index."""
        return f"slurm:{self.node}:{self.gres}:" + ",".join(str(i) for i in self.indices)


_DETAIL = re.compile(r"^\s*Nodes=(?P<nodes>\S+)\s.*?\bGRES=(?P<gres>\S+)", re.MULTILINE)
_ONE_GRES = re.compile(r"(?P<name>[^,(]+?)(?::\d+)?\(IDX:(?P<idx>[0-9,-]+)\)")


def _indices(text: str) -> tuple[int, ...]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            low, high = part.split("-", 1)
            out.extend(range(int(low), int(high) + 1))
        elif part:
            out.append(int(part))
    return tuple(out)


def parse_grants(scontrol_detail: str) -> tuple[Grant, ...]:
    """The per-node gres lines of ``scontrol show job -d``:
    ``Nodes=gpu01 CPU_IDs=0-2 Mem=17408 GRES=gpu:1g.10gb:1(IDX:3)``."""
    grants: list[Grant] = []
    for m in _DETAIL.finditer(scontrol_detail):
        for g in _ONE_GRES.finditer(m.group("gres")):
            grants.append(Grant(m.group("nodes"), g.group("name"), _indices(g.group("idx"))))
    return tuple(grants)


def job_field(scontrol: str, name: str) -> str | None:
    """One ``Name=value`` field of ``scontrol show job`` output."""
    m = re.search(rf"(?:^|\s){re.escape(name)}=(\S*)", scontrol)
    return m.group(1) if m else None
