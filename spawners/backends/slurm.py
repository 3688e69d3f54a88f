"""Slurm backend: the server runs as a batch job (batchspawner's SlurmSpawner).

The hub's ledger keeps the reservation and the quota; Slurm decides which device of which
node the job gets. This adapter only translates: the slice becomes ``--gres`` (type names
per site), the host share becomes ``--cpus-per-task``/``--mem``, partition/account/QOS
come from the site, per team kind (``slurm_placement_for``), the image becomes a way to
run it on the nodes. The batch script is rendered from typed values only
(``slurm_script.py``), the commands run as argument vectors (``slurm_jobs.py``), and the
job id is recorded in the ledger as soon as sbatch returns, with what Slurm granted once
the job runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import os
import pwd
import sys
import time
from dataclasses import dataclass
from typing import Any

from batchspawner import JobStatus, SlurmSpawner
from jupyterhub.apihandlers import APIHandler, default_handlers
from tornado import web
from traitlets import Bool, Dict, Enum, Float, Integer, List, Unicode, default, observe

from spawners.backends.mps import MpsClient
from spawners.backends.resources import NodeShape, host_share
from spawners.backends.slurm_jobs import SlurmCommandError, SlurmCommands, allocation_comment
from spawners.backends.slurm_script import (
    ImageRunner,
    ScriptError,
    SlurmJob,
    gres_for_slice,
    render_batch_script,
)
from spawners.backends.slurm_status import (
    NEVER_SUBMIT_ERRORS,
    JobView,
    parse_grants,
    queue_position,
)
from spawners.core.environment import mps_directories
from spawners.core.profiles import SliceKind, slice_profile
from spawners.core.server_env import ServerEnv
from spawners.i18n import N_
from spawners.ledger.records import AllocationRecord
from spawners.mixin import SliceSpawnerMixin

QUEUE_POSITION_EVERY_S = 2.0
LOST_NODE_STATES = frozenset({"NODE_FAIL", "BOOT_FAIL"})
"""Job states that mean the node under a started job failed (its server went with it)."""
# Set by the engine, not the hub: Slurm decides which device the job gets.


@dataclass(frozen=True)
class SlurmPlacement:
    """Where a team's jobs go: partition, account and QOS (None: the cluster's default)."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None


class CheckedSlurmSpawner(SlurmSpawner):
    """batchspawner's SlurmSpawner whose start also notices a job that ends before its
    server reports a port (upstream waits for the port until start_timeout), and whose
    poll notices a job that lost its node (upstream counts a requeued job as running).
    Its start goes on as soon as the server reports its port, not at the next of its
    squeue checks (which came up to one startup_poll_interval and one squeue later)."""

    lost_node_message = ""
    """Why the last server stopped when its node failed ("" otherwise), for the user."""
    job_node = ""
    """The node the job runs on, as Slurm names it."""
    _job_started = False
    _port_reported: asyncio.Event | None = None

    @observe("port")
    def _on_port(self, change: Any) -> None:
        # The port report (POST /hub/api/batchspawner) sets the port: wake start().
        if change["new"] and self._port_reported is not None:
            self._port_reported.set()

    async def _pause(self) -> None:
        """One startup_poll_interval, cut short when the server reports its port (once:
        a job squeue still shows pending after its report is asked again a pause later)."""
        reported = self._port_reported
        if reported is None or reported.is_set():
            await asyncio.sleep(self.startup_poll_interval)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reported.wait(), self.startup_poll_interval)

    async def poll(self) -> int | None:
        status = await self.query_job_status()
        if status in (JobStatus.RUNNING, JobStatus.UNKNOWN):
            return None
        if status == JobStatus.PENDING and not self._job_started:
            return None
        state = self.job_status.split()[0] if self.job_status else ""
        if status == JobStatus.PENDING or state in LOST_NODE_STATES:
            # The job had started and is back in the queue (Slurm requeues a failed
            # node's jobs) or failed with its node. Its server is gone; cancel it before
            # the scheduler starts it again somewhere, unseen by the hub, on a device the
            # hub frees now.
            node = self.job_node or "its node"
            self.log.warning(
                "Slurm job %s of %s lost node %s (%s): cancelling it",
                self.job_id, self.user.name, node, self.job_status,
            )  # fmt: skip
            self.lost_node_message = (
                f"Your server stopped because the cluster node it ran on ({node}) stopped "
                "answering. Its slice was given back; start again to get one on a node "
                "that works. Files in your home are kept; unsaved notebook changes since "
                "the last save are lost."
            )
            await self.cancel_batch_job()
        self._job_started = False
        self.clear_state()
        return 1

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        # The hub keeps a job id only for a server that started.
        self._job_started = bool(self.job_id)
        self.job_node = state.get("sandbox_job_node", "")
        # JupyterHub makes a new spawner after a stop: the message travels in the state.
        self.lost_node_message = state.get("sandbox_lost_node", "")

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        if self.job_id and self.job_node:
            state["sandbox_job_node"] = self.job_node
        if self.lost_node_message:
            state["sandbox_lost_node"] = self.lost_node_message
        return state

    async def start(self) -> tuple[str, int]:
        self.lost_node_message = ""
        self._job_started = False
        self.ip = self.traits()["ip"].default_value
        self.port = 0
        self._port_reported = asyncio.Event()
        if self.server:
            self.server.port = self.port
        await self.submit_batch_script()
        while True:
            status = await self.query_job_status()
            if status == JobStatus.RUNNING:
                break
            if status not in (JobStatus.PENDING, JobStatus.UNKNOWN):
                raise web.HTTPError(500, "The Slurm job ended before it started the server.")
            await self._pause()
        self._job_started = True
        self.ip = self.state_gethost()
        while self.port == 0:
            status = await self.query_job_status()
            if status not in (JobStatus.RUNNING, JobStatus.UNKNOWN):
                raise web.HTTPError(
                    500,
                    "The Slurm job ended before its server started; "
                    "its log is ~/.sandbox-slurm-<job id>.log.",
                )
            await self._pause()
        self.log.info("Slurm job %s serves at %s:%s", self.job_id, self.ip, self.port)
        return self.ip, self.port


class SlurmSliceSpawner(SliceSpawnerMixin, MpsClient, CheckedSlurmSpawner):
    engine_chooses_device = True  # the job's gres: Slurm sets CUDA_VISIBLE_DEVICES

    engine_name = Unicode(
        "slurm",
        help="""Engine recorded with each allocation; reconciliation asks squeue about it.""",
    )

    gres_types = Dict(
        value_trait=Unicode(),
        config=True,
        help="""Slurm gres type per slice, for ``--gres=gpu:<type>:1``, on every GPU model.
        A slice not listed asks for the type Slurm's AutoDetect=nvml (and the slurm
        Ansible role) gives it on the GPU model the slice is on:
        ``nvidia_h100_80gb_hbm3_1g.10gb``, ``nvidia_h200_1g.18gb``, a whole H100 80GB
        ``nvidia_h100_80gb_hbm3``. An empty type asks for any GPU (``gpu:1``); MPS shares
        ask for Slurm's ``mps:<percent>``; ``cpu`` requests no gres.""",
    )

    gres_name = Unicode(
        "gpu", config=True, help="""The gres name of GPUs in this cluster's gres.conf."""
    )

    partition = Unicode(
        "", config=True, help="""Partition for every job ('' = the cluster's default)."""
    )
    account = Unicode(
        "", config=True, help="""Account charged for every job ('' = the user's default)."""
    )
    qos = Unicode("", config=True, help="""QOS of every job ('' = the cluster's default).""")

    team_kinds = Dict(
        value_trait=Dict(),
        config=True,
        help="""Per team kind (startup, course, staff): the ``partition``, ``account`` and
        ``qos`` of its members' jobs (``hub.backend.slurm.team_kinds``; the Ansible slurm
        role makes one partition, account and QOS per kind). A null or missing value, a
        kind not listed and a user in no team take ``partition``, ``account`` and ``qos``.""",
    )

    time_limit = Unicode(
        "",
        config=True,
        help="""``--time`` of every job (e.g. ``8:00:00``); '' = the partition's limit.""",
    )

    extra_options = List(
        Unicode(),
        config=True,
        help="""More ``#SBATCH`` options, each ``--name=value`` (e.g. ``--constraint=h100``).
        Options the hub sets itself (gres, partition, account, QOS, export, cpus, memory,
        output, working folder) are refused.""",
    )

    when_busy = Enum(
        ["queue", "refuse"],
        default_value="queue",
        config=True,
        help="""When Slurm says the job must wait for resources: ``queue`` waits (progress
        shows the position; ``start_timeout`` bounds the wait), ``refuse`` cancels the
        job at once and answers that no such slice is free on the cluster now.""",
    )

    image_runners = Dict(
        config=True,
        help="""How each image runs on the nodes: ``{"vision": {"apptainer":
        "/shared/images/vision.sif"}}`` or ``{"base": {"prefix": "/shared/envs/base"}}``
        (a Python environment whose bin/ has batchspawner-singleuser and
        jupyterhub-singleuser). Images not listed use ``default_prefix``.""",
    )

    default_prefix = Unicode(
        sys.prefix,
        config=True,
        help="""Python environment for images without a runner: by default the hub's own
        (right when the nodes share the hub's filesystem, as in a single-node cluster).""",
    )

    apptainer_command = Unicode(
        "/usr/bin/apptainer", config=True, help="""Apptainer (or singularity) on the nodes."""
    )

    image_prefix = Unicode(
        "/opt/sandbox/venv",
        config=True,
        help="""Inside Apptainer images: the environment holding the single-user commands.""",
    )

    prefix_environment = Dict(
        value_trait=Unicode(),
        config=True,
        help="""Environment for servers that run from a Python environment on the nodes
        (prefix runners), which, unlike an image, carries no tutorials: hub_config names
        here the folder of the current tutorials (SANDBOX_TUTORIALS, the site's
        ``hub.backend.slurm.tutorials`` or the hub's own), merged into each user's
        ~/tutorials at every start.""",
    )

    model_store = Unicode(
        "",
        config=True,
        help="""The shared read-only model store on the nodes ('' = none). Bound read-only at
        ``model_store_mount`` in Apptainer images; exported as SANDBOX_MODELS.""",
    )

    model_store_mount = Unicode(
        "/opt/models", config=True, help="""Where Apptainer images see the model store."""
    )

    slurm_bin_dir = Unicode(
        "/usr/bin",
        config=True,
        help="""Folder of sbatch, squeue, scontrol and scancel (absolute: sudo resets PATH).""",
    )

    require_contained_jobs = Bool(
        True,
        config=True,
        help="""Start servers only on a cluster that tracks a job's processes in a cgroup
        (``ProctrackType=proctrack/cgroup``, as the Ansible slurm role sets): with
        linuxproc or pgid a process the user detaches (``setsid``) survives ``scancel``
        while the device goes to the next user. Asked once per hub start, at the first
        spawn.""",
    )

    min_uid = Integer(
        1000,
        config=True,
        help="""Jobs run only as accounts with at least this uid: hub users whose name is a
        system account (root, postgres, slurm, ...) are refused, never run as it.""",
    )

    submit_as_user = Bool(
        True,
        config=True,
        help="""Submit and cancel through ``sudo -E -u <user>`` so the job runs as the user's
        unix account (the hub needs a sudoers rule for the Slurm commands). False: the hub's
        own account submits (a single-user or test cluster).""",
    )

    node_addresses = Dict(
        value_trait=Unicode(),
        config=True,
        help="""Node name -> address the hub reaches it at, for clusters whose node names
        do not resolve from the hub. Unlisted nodes are used by name.""",
    )

    node_shape = Dict(
        config=True,
        help="""CPUs and memory per GPU and for cpu servers (``hub.backend.host_share``),
        which become ``--cpus-per-task`` and ``--mem``.""",
    )

    slurm_conf = Unicode(
        config=True,
        help="""SLURM_CONF for the hub's Slurm commands ('' = the system's slurm.conf).
        Defaults to the hub's own SLURM_CONF.""",
    )

    @default("slurm_conf")
    def _slurm_conf_default(self) -> str:
        return os.environ.get("SLURM_CONF", "")

    startup_poll_interval = Float(
        0.5, config=True, help="""Seconds between squeue checks while the job starts."""
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._last_position_check = 0.0
        self._last_pending: dict[str, Any] | None = None
        """What the last pending message said (told once per change)."""
        self._granted_recorded = False

    # --- what the engine gets ------------------------------------------------------

    @property
    def commands(self) -> SlurmCommands:
        return SlurmCommands(
            bin_dir=self.slurm_bin_dir,
            as_user=("/usr/bin/sudo", "-E", "-u") if self.submit_as_user else (),
        )

    def slurm_placement_for(self, team: str | None) -> SlurmPlacement:
        """Partition, account and QOS for the jobs of ``team`` (the team an allocation is
        charged to): its kind's in ``team_kinds``, else the site-wide ones. Never derived
        from user_options."""
        found = self._ctx.teams.get(team) if team else None
        own = (self.team_kinds.get(found.kind.value) if found is not None else None) or {}
        return SlurmPlacement(
            partition=own.get("partition") or self.partition or None,
            account=own.get("account") or self.account or None,
            qos=own.get("qos") or self.qos or None,
        )

    def runner_for(self, image: str) -> ImageRunner:
        spec = self.image_runners.get(image) or {"prefix": self.default_prefix}
        binds = ((self.model_store, self.model_store_mount),) if self.model_store else ()
        if "apptainer" in spec:
            return ImageRunner(
                "apptainer",
                spec["apptainer"],
                image_prefix=self.image_prefix,
                apptainer=self.apptainer_command,
                binds=binds,
            )
        return ImageRunner("prefix", spec["prefix"])

    def slice_env(self, record: AllocationRecord) -> dict[str, str]:
        env = super().slice_env(record)
        runner = self.runner_for(record.image)
        if runner.kind == "prefix":
            env.update(self.prefix_environment)
            env["PATH"] = f"{runner.path.rstrip('/')}/bin:/usr/local/bin:/usr/bin:/bin"
            if self.model_store:
                env[ServerEnv.MODELS] = self.model_store
        elif self.model_store:
            env[ServerEnv.MODELS] = self.model_store_mount
        return env

    def _home(self) -> str:
        return pwd.getpwnam(self.user.name).pw_dir

    def build_job(self, record: AllocationRecord) -> SlurmJob:
        """The typed job for this allocation: only validated values and site settings."""
        placement = self.slurm_placement_for(record.team)
        share = host_share(record.slice_name, NodeShape.from_site(self.node_shape))
        home = self._home()
        runner = self.runner_for(record.image)
        mps = self.mps_folders_by_node() if self._is_mps(record) else ()
        if mps and runner.kind == "apptainer":
            # The node's pipe directory (Slurm uses one MPS GPU per node: one folder in it).
            runner = dataclasses.replace(
                runner, writable_binds=((self.pipe_directory, self.pipe_directory),)
            )
        return SlurmJob(
            job_name=f"sandbox-{record.id}",
            workdir=home,
            output=f"{home.rstrip('/')}/.sandbox-slurm-%j.log",
            export=tuple(self.get_env()),
            command=runner.command(tuple(self.get_args())),
            cpus=share.whole_cpus,
            memory_mib=share.memory_mib,
            gres=gres_for_slice(
                record.slice_name,
                self.gres_types,
                self.gres_name,
                self._ctx.inventory.device_name(record.gpu_uuid),
            ),
            partition=placement.partition,
            account=placement.account,
            qos=placement.qos,
            time_limit=self.time_limit or None,
            hide_gpus=not slice_profile(record.slice_name).needs_gpu,
            comment=allocation_comment(record.id),
            extra_lines=tuple(self.extra_options),
            mps_folders=mps,
        )

    @staticmethod
    def _is_mps(record: AllocationRecord) -> bool:
        return slice_profile(record.slice_name).kind is SliceKind.MPS

    def mps_folders_by_node(self) -> tuple[tuple[str, str, str], ...]:
        """(node, pipe folder, log folder) of each node's MPS GPU (the site file's
        gpus.nodes): Slurm decides the node, the script picks its folders
        (``<pipe_directory>/<index>``, what the mps role creates). GPUs of the hub's own
        host (an inventory naming no nodes) are any node's."""
        folders = []
        for node, indexes in sorted(self.mps_nodes(self._ctx.inventory).items()):
            if len(indexes) != 1:
                self.log.warning(
                    "node %s has MPS GPUs %s; Slurm uses one MPS GPU per node, so jobs "
                    "there cannot tell which daemon is theirs",
                    node,
                    sorted(indexes),
                )
                continue
            dirs = mps_directories(self.pipe_directory, self.log_directory, indexes.pop())
            pattern = "*" if node == "localhost" else node
            folders.append(
                (pattern, dirs[ServerEnv.MPS_PIPE_DIRECTORY], dirs[ServerEnv.MPS_LOG_DIRECTORY])
            )
        return tuple(folders)

    def _command_env(self) -> dict[str, str]:
        env = self.get_env()
        if self.slurm_conf:
            env["SLURM_CONF"] = self.slurm_conf
        return env

    _proctrack: str | None = None
    """The cluster's ProctrackType, asked once per hub process (shared by all servers)."""

    async def _check_cluster_contains_jobs(self) -> None:
        if not self.require_contained_jobs:
            return
        cls = type(self)
        if cls._proctrack is None:
            try:
                cls._proctrack = await self.commands.proctrack(self._command_env())
            except (SlurmCommandError, OSError) as e:
                self.log.error("scontrol show config failed: %s", e)
                raise web.HTTPError(503, "The cluster does not answer; try again soon.") from None
        if cls._proctrack != "proctrack/cgroup":
            self.log.error(
                "refusing Slurm spawns: ProctrackType is %r, not proctrack/cgroup",
                cls._proctrack,
            )
            raise web.HTTPError(
                500,
                "This cluster cannot stop everything a server starts, so no server is "
                "started on it; an administrator must set ProctrackType=proctrack/cgroup.",
            )

    def _submitter(self) -> str | None:
        return self.user.name if self.submit_as_user else None

    # --- batchspawner's conversation, as argv and typed values ------------------------

    async def submit_batch_script(self) -> str:
        record = self.allocation
        if record is None:
            raise web.HTTPError(500, "No slice is reserved for this server.")
        try:
            account = pwd.getpwnam(self.user.name)
        except KeyError:
            raise web.HTTPError(
                500, "There is no unix account for you on the cluster; ask an administrator."
            ) from None
        if self.submit_as_user and account.pw_uid < self.min_uid:
            # A login name that happens to be a system account (an editable OIDC
            # username of "postgres", say) must never run a job as that account.
            self.log.warning("refused a Slurm job as system account %s", account.pw_name)
            raise web.HTTPError(
                403, f"{self.user.name} is a system account on the cluster; ask an administrator."
            )
        await self._check_cluster_contains_jobs()
        try:
            script = render_batch_script(self.build_job(record))
        except ScriptError as e:
            self.log.error("Slurm job of allocation %s not rendered: %s", record.id, e)
            raise web.HTTPError(500, "This hub's Slurm settings are invalid.") from None
        self.log.debug("Slurm batch script for %s:\n%s", self._log_name, script)
        try:
            self.job_id = await self.commands.submit(script, self._submitter(), self._command_env())
        except SlurmCommandError as e:
            self.job_id = ""
            self.log.error("sbatch refused the job of %s: %s", self._log_name, e.stderr)
            if any(text in e.stderr for text in NEVER_SUBMIT_ERRORS):
                raise web.HTTPError(
                    409,
                    f"This cluster has no node that can run a {record.slice_name} slice. "
                    "Pick another slice.",
                ) from None
            raise web.HTTPError(500, "The cluster refused the job; see the hub log.") from None
        self.job_status = ""
        self._granted_recorded = False
        self._ctx.ledger.record_engine(record.id, engine_ref=self.engine_reference())
        self._emit(
            35,
            N_("submitted Slurm job %(job)s for a %(slice)s slice"),
            job=self.job_id,
            slice=record.slice_name,
        )
        return self.job_id

    async def query_job_status(self) -> JobStatus:
        if not self.job_id:
            self.job_status = ""
            return JobStatus.NOTFOUND
        env = self._command_env()
        try:
            view = await self.commands.view(self.job_id, env)
        except SlurmCommandError as e:
            if "Invalid job id" in e.stderr:
                view = None
            else:
                self.job_status = e.stderr
                return JobStatus.UNKNOWN
        except (OSError, TimeoutError):
            return JobStatus.UNKNOWN
        if view is None:
            self.job_status = ""
            return JobStatus.NOTFOUND
        # The shape batchspawner's regexes read ("STATE host").
        self.job_status = f"{view.state} {view.node}"
        if view.running:
            self.job_node = view.node
            await self._record_grant(env)
            return JobStatus.RUNNING
        if view.pending:
            await self._while_pending(view, env)
            return JobStatus.PENDING
        return JobStatus.NOTFOUND

    async def _while_pending(self, view: JobView, env: dict[str, str]) -> None:
        record = self.allocation
        if record is None or record.state != "reserved":
            return
        if view.can_never_run or (self.when_busy == "refuse" and view.evaluated_and_waiting):
            await self.cancel_batch_job()
            if view.can_never_run:
                message = (
                    f"Slurm can never run this {record.slice_name} job ({view.reason}). "
                    "Pick another slice."
                )
            else:
                message = (
                    f"No {record.slice_name} slice is free on the cluster right now; "
                    "try again later or pick another slice."
                )
            raise web.HTTPError(409, message)
        now = time.monotonic()
        if view.reason == "None" or now - self._last_position_check < QUEUE_POSITION_EVERY_S:
            return
        self._last_position_check = now
        placement = self.slurm_placement_for(record.team)
        try:
            position = queue_position(
                self.job_id, await self.commands.pending_in(placement.partition, env)
            )
        except (SlurmCommandError, OSError, TimeoutError):
            position = None
        params = {"slice": record.slice_name, "reason": view.reason, "position": position}
        if params != self._last_pending:
            self._last_pending = params
            if position:
                msgid = N_(
                    "pending: waiting for a %(slice)s slice, position %(position)s (%(reason)s)"
                )
            else:
                msgid = N_("pending: waiting for a %(slice)s slice (%(reason)s)")
            self._emit(40, msgid, **params)

    async def _record_grant(self, env: dict[str, str]) -> None:
        record = self.allocation
        if record is None or self._granted_recorded:
            return
        self._granted_recorded = True
        try:
            grants = parse_grants(await self.commands.detail(self.job_id, env))
        except (SlurmCommandError, OSError, TimeoutError) as e:
            self.log.warning("could not read the grant of job %s: %s", self.job_id, e)
            return
        granted = ";".join(g.describe() for g in grants) or None
        if granted:
            self._ctx.ledger.record_engine(record.id, device_uuid=granted)
        if granted:
            self._emit(
                45,
                N_("Slurm job %(job)s is running (%(granted)s)"),
                job=self.job_id,
                granted=granted,
            )
        else:
            self._emit(45, N_("Slurm job %(job)s is running"), job=self.job_id)

    async def cancel_batch_job(self) -> None:
        if not self.job_id:
            return
        self.log.info("Cancelling Slurm job %s of %s", self.job_id, self._log_name)
        try:
            await self.commands.cancel(self.job_id, self._submitter(), self._command_env())
        except SlurmCommandError as e:
            self.log.warning("scancel %s: %s", self.job_id, e.stderr)

    async def _default_options_form(self, spawner: Any) -> str:
        form = await super()._default_options_form(spawner)
        if not self.lost_node_message:
            return form
        notice = html.escape(self.lost_node_message)
        return f'<div class="alert alert-warning" role="alert">{notice}</div>\n{form}'

    def state_gethost(self) -> str:
        host = super().state_gethost()
        return self.node_addresses.get(host, host) if host else host

    def engine_reference(self) -> str | None:
        return f"slurm:{self.job_id}" if self.job_id else None


class PortReportHandler(APIHandler):
    """``POST /hub/api/batchspawner`` that accepts only ``{"port": <int>}``.

    batchspawner's own handler sets *any* attribute the caller names on its spawner,
    so a server's token could rewrite ``cmd`` or the Slurm settings for its next start."""

    @web.authenticated
    def post(self) -> None:
        user = self.current_user
        token = self.get_auth_token()
        spawners = getattr(user, "spawners", {}) or {}
        spawner = next((s for s in spawners.values() if s.api_token == token), None)
        if spawner is None:
            raise web.HTTPError(403, "Only a server's own token may report its port.")
        data = self.get_json_body()
        port = data.get("port") if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or set(data) != {"port"}
            or isinstance(port, bool)
            or not isinstance(port, int)
            or not 1 <= port <= 65535
        ):
            raise web.HTTPError(400, 'Expected {"port": <1-65535>} and nothing else.')
        spawner.port = port
        self.set_status(201)
        self.finish({"message": "port recorded"})


def secure_port_reporting() -> None:
    """Replace batchspawner's attribute-setting API handler with PortReportHandler."""
    for i, route in enumerate(default_handlers):
        if route[0] == r"/api/batchspawner":
            default_handlers[i] = (r"/api/batchspawner", PortReportHandler)
            return
    default_handlers.append((r"/api/batchspawner", PortReportHandler))
