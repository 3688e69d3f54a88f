"""Parsing what Slurm 22.05 prints (recorded from the test cluster)."""

from __future__ import annotations

from spawners.backends.slurm_jobs import SlurmCommands, job_id_of
from spawners.backends.slurm_status import (
    Grant,
    job_field,
    parse_grants,
    parse_squeue_job,
    queue_position,
)

SCONTROL_RUNNING = """\
JobId=1 JobName=sandbox-1
   UserId=sbxslurm1(1001) GroupId=sbxslurm1(1001) MCS_label=N/A
   Priority=4294901759 Nice=0 Account=(null) QOS=(null)
   JobState=RUNNING Reason=None Dependency=(null)
   NodeList=vm
   BatchHost=vm
   NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:*
   TRES=cpu=1,mem=1024M,node=1,billing=1
   JOB_GRES=gpu:nvidia_h100_80gb_hbm3_1g.10gb:1
     Nodes=vm CPU_IDs=0 Mem=1024 GRES=gpu:nvidia_h100_80gb_hbm3_1g.10gb:1(IDX:0)
   MinCPUsNode=1 MinMemoryNode=1G MinTmpDiskNode=0
   TresPerNode=gres:gpu:nvidia_h100_80gb_hbm3_1g.10gb:1
"""

SCONTROL_TWO = """\
   JOB_GRES=gpu:1g.10gb:2
     Nodes=gpu01 CPU_IDs=0-3 Mem=2048 GRES=gpu:1g.10gb:2(IDX:0-1)
     Nodes=gpu02 CPU_IDs=4 Mem=256 GRES=gpu:3g.40gb:1(IDX:5),mps:50(IDX:2)
"""


def test_squeue_line() -> None:
    view = parse_squeue_job("RUNNING|vm|None\n")
    assert view is not None and view.running and not view.pending and view.node == "vm"
    pending = parse_squeue_job("PENDING|n/a|Resources")
    assert pending is not None and pending.pending and pending.evaluated_and_waiting
    assert not pending.can_never_run
    fresh = parse_squeue_job("PENDING|n/a|None")
    assert fresh is not None and not fresh.evaluated_and_waiting
    never = parse_squeue_job("PENDING|n/a|BadConstraints")
    assert never is not None and never.can_never_run
    assert parse_squeue_job("") is None


def test_queue_position_orders_by_priority_then_age() -> None:
    out = "7|100\n8|100\n9|500\n10|100\n"
    assert queue_position("9", out) == 1
    assert queue_position("7", out) == 2
    assert queue_position("10", out) == 4
    assert queue_position("11", out) is None


def test_grants() -> None:
    assert parse_grants(SCONTROL_RUNNING) == (
        Grant("vm", "gpu:nvidia_h100_80gb_hbm3_1g.10gb", (0,)),
    )
    assert parse_grants(SCONTROL_RUNNING)[0].describe() == (
        "slurm:vm:gpu:nvidia_h100_80gb_hbm3_1g.10gb:0"
    )
    assert parse_grants(SCONTROL_TWO) == (
        Grant("gpu01", "gpu:1g.10gb", (0, 1)),
        Grant("gpu02", "gpu:3g.40gb", (5,)),
        Grant("gpu02", "mps", (2,)),
    )
    assert parse_grants("JobState=PENDING Reason=Resources") == ()


def test_fields_and_refs() -> None:
    assert job_field(SCONTROL_RUNNING, "JobState") == "RUNNING"
    assert job_field(SCONTROL_RUNNING, "BatchHost") == "vm"
    assert job_id_of("slurm:42") == "42"
    assert job_id_of("slurm:42;rm") is None and job_id_of("pid:42") is None


def test_commands_are_argv_with_absolute_paths() -> None:
    commands = SlurmCommands(bin_dir="/opt/slurm/bin")
    assert commands.argv("squeue", "-j", "1") == ["/opt/slurm/bin/squeue", "-j", "1"]
    assert commands.argv("sbatch", user="alice") == [
        "/usr/bin/sudo", "-E", "-u", "alice", "/opt/slurm/bin/sbatch",
    ]  # fmt: skip
    for hostile in ("a;id", "-rroot", "a b", "", "A\n"):
        try:
            commands.argv("sbatch", user=hostile)
        except ValueError:
            continue
        raise AssertionError(f"user name {hostile!r} was accepted")
