"""The conversation with Slurm's commands, as argument vectors (never a shell string).

batchspawner runs ``sudo -E -u {username} sbatch`` through a shell; a user name with a
shell character in it would be interpreted. Here every command is an argv list run with
``create_subprocess_exec``, commands are absolute paths (sudo resets PATH), and the
reconciliation probe used at hub start-up is a plain synchronous function.

Engine references look like ``slurm:<job id>``; every job carries the comment
``sandbox-allocation-<id>`` so that a job id Slurm reused is never mistaken for ours.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from spawners.backends.slurm_status import SQUEUE_FORMAT, JobView, parse_squeue_job
from spawners.ledger.records import AllocationRecord

JOB_ID = re.compile(r"^[0-9]{1,12}$")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}\$?$")
COMMAND_TIMEOUT_S = 30.0


class SlurmCommandError(RuntimeError):
    """A Slurm command failed; ``stderr`` holds its message."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{os.path.basename(argv[0])} exited with {returncode}: {stderr}")
        self.returncode = returncode
        self.stderr = stderr


def allocation_comment(allocation_id: int) -> str:
    return f"sandbox-allocation-{allocation_id}"


def job_id_of(engine_ref: str | None) -> str | None:
    if engine_ref and engine_ref.startswith("slurm:") and JOB_ID.fullmatch(engine_ref[6:]):
        return engine_ref[6:]
    return None


@dataclass(frozen=True)
class SlurmCommands:
    """Where Slurm's commands are and how the hub runs them for a user."""

    bin_dir: str = "/usr/bin"
    as_user: tuple[str, ...] = ("/usr/bin/sudo", "-E", "-u")
    """Prefix that runs a command as the user (``sudo -E -u <user>``); empty: as the hub."""

    def argv(self, command: str, *args: str, user: str | None = None) -> list[str]:
        argv = [f"{self.bin_dir.rstrip('/')}/{command}", *args]
        if user is not None and self.as_user:
            if not USER_NAME.fullmatch(user):
                raise ValueError("not a valid unix user name")
            argv = [*self.as_user, user, *argv]
        return argv

    # --- asynchronous (spawners) ---------------------------------------------------

    async def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = COMMAND_TIMEOUT_S,
    ) -> str:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else None,
        )
        try:
            out, err = await asyncio.wait_for(
                proc.communicate(stdin.encode() if stdin is not None else None), timeout
            )
        except BaseException:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            raise
        if proc.returncode != 0:
            raise SlurmCommandError(argv, proc.returncode, err.decode(errors="replace").strip())
        return out.decode(errors="replace")

    async def submit(self, script: str, user: str | None, env: Mapping[str, str]) -> str:
        out = await self.run(self.argv("sbatch", "--parsable", user=user), stdin=script, env=env)
        # --parsable prints "<id>" or "<id>;<cluster>", after any warnings.
        job_id = out.strip().splitlines()[-1].split(";")[0] if out.strip() else ""
        if not JOB_ID.fullmatch(job_id):
            raise SlurmCommandError(["sbatch"], 0, "sbatch printed no job id")
        return job_id

    async def view(self, job_id: str, env: Mapping[str, str]) -> JobView | None:
        out = await self.run(self.argv("squeue", "-h", "-j", job_id, "-o", SQUEUE_FORMAT), env=env)
        return parse_squeue_job(out)

    async def pending_in(self, partition: str | None, env: Mapping[str, str]) -> str:
        args = ["-h", "-t", "PENDING", "-o", "%i|%Q"]
        if partition:
            args += ["-p", partition]
        return await self.run(self.argv("squeue", *args), env=env)

    async def detail(self, job_id: str, env: Mapping[str, str]) -> str:
        return await self.run(self.argv("scontrol", "show", "job", "-d", job_id), env=env)

    async def proctrack(self, env: Mapping[str, str]) -> str:
        """The cluster's ProctrackType (``proctrack/cgroup``, ...), or "" if not shown."""
        out = await self.run(self.argv("scontrol", "show", "config"), env=env)
        return proctrack_type(out)

    async def cancel(self, job_id: str, user: str | None, env: Mapping[str, str]) -> None:
        await self.run(self.argv("scancel", job_id, user=user), env=env)

    # --- synchronous (reconciliation at hub start-up) ------------------------------

    def _run_sync(self, argv: Sequence[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )

    def job_of_allocation(self, record: AllocationRecord) -> bool | None:
        """True: the allocation's job is queued or running. False: Slurm has no such job
        (or it belongs to someone else). None: Slurm did not answer; keep it."""
        job_id = job_id_of(record.engine_ref)
        if job_id is None:
            return None if record.state == "reserved" else False
        try:
            result = self._run_sync(self.argv("squeue", "-h", "-j", job_id, "-o", "%T|%k"))
        except (OSError, subprocess.TimeoutExpired):
            return None
        if result.returncode != 0:
            return False if "Invalid job id" in result.stderr else None
        for line in result.stdout.splitlines():
            state, _, comment = line.strip().partition("|")
            if state:
                return comment == allocation_comment(record.id)
        return False

    def cancel_abandoned(self, record: AllocationRecord) -> None:
        """Cancel the job of a spawn whose hub died before it was up (if it is ours)."""
        job_id = job_id_of(record.engine_ref)
        if job_id is not None and self.job_of_allocation(record):
            self._run_sync(self.argv("scancel", job_id))


def proctrack_type(show_config: str) -> str:
    """ProctrackType from ``scontrol show config`` output."""
    for line in show_config.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "ProctrackType":
            return value.strip()
    return ""
