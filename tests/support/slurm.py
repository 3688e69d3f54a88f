"""A private, throw-away Slurm cluster for tests: one node on this host, or several
"GPU nodes" across network namespaces (``start_across``).

``SlurmCluster.start()`` runs Debian's ``munged``, ``slurmctld`` and ``slurmd`` with a
private configuration: their own munge key and socket, their own TCP ports, state and
spool folders, logs and pid files, all under one temporary folder (mode 0755: jobs run as
other unix users and read ``slurm.conf`` and the munge socket). GPUs are fake: character
devices made with ``mknod DIR/nvidiaN c 1 3`` (the null device), one per gres, so that
``--gres=gpu:<type>:1`` really allocates a device and sets ``CUDA_VISIBLE_DEVICES``. Gres
type names may contain dots (``1g.10gb``), as MIG profile names do.

Where the cgroup v1 freezer hierarchy is writable (root, as in CI), jobs are tracked as
production's ansible/roles/slurm tracks them, ``proctrack/cgroup``: every process of a job,
detached or not, is in the job's cgroup and dies with it. Elsewhere the cluster falls back
to ``proctrack/linuxproc`` (``cluster.proctrack`` says which), whose parent-pid tracking a
process that daemonizes escapes. Job ids start at a random ``FirstJobId``, so two clusters
on one host never share a job's cgroup (``slurm_<node>/uid_<uid>/job_<id>``).

It waits on readiness (``sinfo`` reports the node idle; never a fixed sleep), fails fast
with the daemons' logs when one exits, and always stops every daemon it started and
removes its folder.

    with SlurmCluster.start({"1g.10gb": 2, "3g.40gb": 1}) as cluster:
        cluster.run("squeue")            # CompletedProcess (SLURM_CONF set)
        cluster.env                      # for other clients (the hub)

Across nodes, slurmctld (and munged) run here, listening at the host's address on a
``tests.support.netns.Network``, and each node's slurmd runs in that node's namespace
(``-N <node>``, its own spool, pid and log files) with its own fake devices under
``dev/<node>/``; ``SlurmdTimeout`` is short, so ``kill_node`` (slurmd, its jobs and the
namespace gone) turns the node ``down`` within seconds, as a dead host would:

    with Network.start(["gpu-a", "gpu-b"]) as net, SlurmCluster.start_across(
        net, {"gpu-a": {"1g.10gb": 1}, "gpu-b": {"1g.10gb": 1}}
    ) as cluster:
        cluster.kill_node("gpu-b")
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.hub import fixed_port_range
from tests.support.netns import Network
from tests.support.requirements import missing

START_DEADLINE_S = 60.0
NODE_TIMEOUT_S = 6
"""SlurmdTimeout of a cluster across a network: how soon a dead node is marked down."""
STOP_DEADLINE_S = 20.0
POLL_INTERVAL_S = 0.2
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo", "scancel")
SBIN = Path("/usr/sbin")
FREEZER_V1 = Path("/sys/fs/cgroup/freezer")
CGROUP_CONF = """\
CgroupPlugin=cgroup/v1
CgroupAutomount=no
CgroupMountpoint=/sys/fs/cgroup
"""


class SlurmUnavailable(RuntimeError):
    """Slurm or munge is not installed here."""


class SlurmStartError(RuntimeError):
    """Slurm is installed but the private cluster did not come up."""


def require_slurm() -> None:
    """Skip (fail under CI) unless Slurm, munge and root are available."""
    absent = [d for d in DAEMONS if shutil.which(d) is None and not (SBIN / d).exists()]
    reason = ""
    if absent:
        reason = f"missing {', '.join(absent)} (Debian: slurm-wlm munge)"
    elif os.geteuid() != 0:
        reason = "slurmd must run as root to start jobs as other users"
    if not reason:
        return
    missing(reason)


def cgroup_proctrack_available() -> bool:
    """Whether slurmd can track jobs with proctrack/cgroup here (cgroup v1 freezer)."""
    return (
        os.geteuid() == 0
        and (FREEZER_V1 / "cgroup.procs").exists()
        and os.access(FREEZER_V1, os.W_OK)
    )


def _free_port_pair() -> int:
    for _ in range(200):
        ports = fixed_port_range()
        base = ports.start + secrets.randbelow(len(ports) - 2)
        ok = True
        for port in (base, base + 1):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
        if ok:
            return base
    raise SlurmStartError("no free pair of ports")


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass(frozen=True)
class NodeSpec:
    """One slurmd: its node name, the address slurmctld reaches it at, its fake GPUs."""

    name: str
    address: str
    gres: Mapping[str, int]


def slurm_conf(
    *,
    root: Path,
    node: str,
    port: int,
    gres: Mapping[str, int],
    cpus: int,
    memory_mb: int,
    partition: str,
    proctrack: str = "proctrack/linuxproc",
    first_job_id: int = 1,
    controller_address: str = "127.0.0.1",
    nodes: tuple[NodeSpec, ...] = (),
    slurmd_timeout: int = 300,
) -> str:
    """The cluster's slurm.conf: one node named ``node`` at 127.0.0.1 with ``gres``, or
    the given ``nodes`` (each slurmd's spool, pid and log files then carry its name)."""
    nodes = nodes or (NodeSpec(node, "127.0.0.1", gres),)
    per_node = "-%n" if len(nodes) > 1 else ""
    lines = []
    for spec in nodes:
        gres_spec = ",".join(f"gpu:{kind}:{count}" for kind, count in spec.gres.items())
        node_gres = f" Gres={gres_spec}" if gres_spec else ""
        lines.append(
            f"NodeName={spec.name} NodeAddr={spec.address} CPUs={cpus} "
            f"RealMemory={memory_mb} State=UNKNOWN{node_gres}"
        )
    names = ",".join(spec.name for spec in nodes)
    return f"""\
ClusterName=sandboxtest
SlurmctldHost={node}({controller_address})
SlurmctldPort={port}
SlurmdPort={port + 1}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool{per_node}
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd{per_node}.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd{per_node}.log
SlurmdTimeout={slurmd_timeout}
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType={proctrack}
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
GresTypes=gpu
DefMemPerCPU=256
KillWait=2
MessageTimeout=10
InactiveLimit=0
MinJobAge=30
FirstJobId={first_job_id}
{chr(10).join(lines)}
PartitionName={partition} Nodes={names} Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class SlurmCluster:
    """One running private cluster; use ``SlurmCluster.start()`` as a context manager."""

    root: Path
    conf: Path
    node: str
    partition: str
    gres: dict[str, int]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    devices: dict[str, list[Path]] = field(default_factory=dict)
    proctrack: str = "proctrack/linuxproc"
    nodes: tuple[NodeSpec, ...] = ()
    network: Network | None = None
    node_devices: dict[str, dict[str, list[Path]]] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    @classmethod
    @contextlib.contextmanager
    def start(
        cls,
        gres: Mapping[str, int],
        *,
        cpus: int = 8,
        memory_mb: int = 8192,
        partition: str = "gpu",
        deadline_s: float = START_DEADLINE_S,
    ) -> Iterator[SlurmCluster]:
        node = socket.gethostname().split(".")[0]
        with cls._running(
            (NodeSpec(node, "127.0.0.1", dict(gres)),), None, cpus, memory_mb, partition, deadline_s
        ) as cluster:
            yield cluster

    @classmethod
    @contextlib.contextmanager
    def start_across(
        cls,
        network: Network,
        gres: Mapping[str, Mapping[str, int]],
        *,
        cpus: int = 4,
        memory_mb: int = 8192,
        partition: str = "gpu",
        deadline_s: float = START_DEADLINE_S,
    ) -> Iterator[SlurmCluster]:
        """slurmctld beside the caller, one slurmd per node of ``network`` (in its
        namespace, at its address) with that node's fake GPUs (``gres[node]``). A node
        stops answering ``SlurmdTimeout`` (NODE_TIMEOUT_S) after it dies."""
        specs = tuple(
            NodeSpec(name, network.nodes[name].address, dict(g)) for name, g in gres.items()
        )
        with cls._running(specs, network, cpus, memory_mb, partition, deadline_s) as cluster:
            yield cluster

    @classmethod
    @contextlib.contextmanager
    def _running(
        cls,
        nodes: tuple[NodeSpec, ...],
        network: Network | None,
        cpus: int,
        memory_mb: int,
        partition: str,
        deadline_s: float,
    ) -> Iterator[SlurmCluster]:
        require_slurm()
        root = Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))
        root.chmod(0o755)
        cluster = cls(
            root=root,
            conf=root / "slurm.conf",
            node=socket.gethostname().split(".")[0] if network else nodes[0].name,
            partition=partition,
            gres=dict(nodes[0].gres),
            nodes=nodes,
            network=network,
        )
        try:
            cluster._write_config(cpus, memory_mb)
            cluster._start_munge()
            cluster._start_daemons(deadline_s)
            yield cluster
        finally:
            cluster.stop()
            shutil.rmtree(root, ignore_errors=True)

    # --- set-up ----------------------------------------------------------------

    def _write_config(self, cpus: int, memory_mb: int) -> None:
        for sub in ("munge", "state", "spool", "log", "dev"):
            (self.root / sub).mkdir(mode=0o755)
        (self.root / "munge").chmod(0o755)
        gres_lines = []
        for spec in self.nodes:
            if self.network:
                (self.root / f"spool-{spec.name}").mkdir(mode=0o755)
            folder = self.root / "dev" / spec.name if self.network else self.root / "dev"
            folder.mkdir(mode=0o755, exist_ok=True)
            devices = self.node_devices.setdefault(spec.name, {})
            index = 0
            for kind, count in spec.gres.items():
                for _ in range(count):
                    device = folder / f"nvidia{index}"
                    # The null device: Slurm only needs a character device to hand out.
                    os.mknod(device, 0o666 | 0o020000, os.makedev(1, 3))
                    devices.setdefault(kind, []).append(device)
                    gres_lines.append(f"NodeName={spec.name} Name=gpu Type={kind} File={device}")
                    index += 1
        self.devices = self.node_devices[self.nodes[0].name]
        port = _free_port_pair()
        if cgroup_proctrack_available():
            self.proctrack = "proctrack/cgroup"
            (self.root / "cgroup.conf").write_text(CGROUP_CONF)
        self.conf.write_text(
            slurm_conf(
                root=self.root,
                node=self.node,
                port=port,
                gres=self.gres,
                cpus=cpus,
                memory_mb=memory_mb,
                partition=self.partition,
                proctrack=self.proctrack,
                first_job_id=1000 + secrets.randbelow(50_000_000),
                controller_address=self.network.host_address if self.network else "127.0.0.1",
                nodes=self.nodes if self.network else (),
                slurmd_timeout=NODE_TIMEOUT_S if self.network else 300,
            )
        )
        (self.root / "gres.conf").write_text("\n".join(gres_lines) + "\n")

    def _start_munge(self) -> None:
        key = self.root / "munge" / "munge.key"
        key.write_bytes(secrets.token_bytes(1024))
        key.chmod(0o400)
        self._spawn(
            "munged",
            [
                str(SBIN / "munged"), "--foreground", "--force",
                f"--socket={self.root}/munge/munge.socket",
                f"--key-file={key}",
                f"--pid-file={self.root}/munge/munged.pid",
                f"--log-file={self.root}/log/munged.log",
                f"--seed-file={self.root}/munge/munged.seed",
            ],
        )  # fmt: skip
        self._wait(lambda: (self.root / "munge" / "munge.socket").exists(), 20, "munged")

    def _start_daemons(self, deadline_s: float) -> None:
        self._spawn("slurmctld", [str(SBIN / "slurmctld"), "-D", "-c", "-i", "-f", str(self.conf)])
        self._wait(lambda: self.run("scontrol", "ping", check=False).returncode == 0, deadline_s,
                   "slurmctld to answer")  # fmt: skip
        if self.network is None:
            self._spawn("slurmd", [str(SBIN / "slurmd"), "-D", "-f", str(self.conf)])
            self._wait(self._node_idle, deadline_s, f"node {self.node} to be idle")
            return
        for spec in self.nodes:
            slurmd = [str(SBIN / "slurmd"), "-D", "-f", str(self.conf), "-N", spec.name]
            self._spawn(f"slurmd-{spec.name}", self.network.nodes[spec.name].argv(*slurmd))
        names = ", ".join(spec.name for spec in self.nodes)
        self._wait(self._nodes_idle, deadline_s, f"nodes {names} to be idle")

    def node_states(self) -> dict[str, str]:
        """Each node's state as sinfo abbreviates it (idle, mix, alloc, down*, ...)."""
        out = self.run("sinfo", "-h", "-N", "-o", "%N %t", check=False).stdout
        return dict(line.split() for line in out.splitlines() if len(line.split()) == 2)

    def _node_idle(self) -> bool:
        out = self.run("sinfo", "-h", "-N", "-o", "%N %t", check=False).stdout.split()
        return out[-1:] == ["idle"] if out else False

    def _nodes_idle(self) -> bool:
        states = self.node_states()
        return all(states.get(spec.name) == "idle" for spec in self.nodes)

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = (self.root / "log" / f"{name}.out").open("ab")
        with log:
            self.processes[name] = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    def _wait(self, predicate, timeout: float, what: str) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.processes.items():
                if proc.poll() is not None:
                    raise SlurmStartError(f"{name} exited with {proc.returncode}:\n{self.logs()}")
            if predicate():
                return
            time.sleep(POLL_INTERVAL_S)
        raise SlurmStartError(f"timed out after {timeout:.0f}s waiting for {what}:\n{self.logs()}")

    def logs(self) -> str:
        parts = []
        for path in sorted((self.root / "log").glob("*")):
            parts.append(f"--- {path.name}\n{_tail(path)}")
        return "\n".join(parts)

    # --- use -------------------------------------------------------------------

    def run(self, *args: str, check: bool = True, user: str | None = None, **kwargs):
        """Run a Slurm client command (as ``user`` through sudo when given)."""
        cmd = [shutil.which(args[0]) or args[0], *args[1:]]
        if user is not None:
            cmd = ["sudo", "-E", "-u", user, *cmd]
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        kwargs.setdefault("timeout", 60)
        result = subprocess.run(cmd, env=self.env, check=False, **kwargs)
        if check and result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, result.args, result.stdout, result.stderr
            )
        return result

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld knows: id, user, state, gres, reason."""
        out = self.run("squeue", "-h", "-a", "-o", "%i|%u|%T|%b|%r").stdout
        keys = ("id", "user", "state", "gres", "reason")
        return [dict(zip(keys, line.split("|"), strict=True)) for line in out.splitlines()]

    def hold_gres(self, gres: str, timeout: float = 30) -> str:
        """A job that holds ``gres`` (``gpu:<type>:<n>``) and runs, so that other jobs
        cannot have it; its id (cancel_all ends it)."""
        job = self.run(
            "sbatch", "--parsable", f"--gres={gres}", "-o", "/dev/null", "--wrap", "sleep 600"
        ).stdout.strip()
        deadline = time.monotonic() + timeout
        while not any(j["id"] == job and j["state"] == "RUNNING" for j in self.jobs()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the job holding {gres} did not run within {timeout:.0f}s")
            time.sleep(POLL_INTERVAL_S)
        return job

    def kill_node(self, name: str) -> None:
        """Node ``name`` dies: its slurmd, the jobs on it and its network namespace."""
        assert self.network is not None, "only a cluster across a network has nodes to kill"
        self.network.kill(name)
        self.processes[f"slurmd-{name}"].wait(timeout=STOP_DEADLINE_S)

    def show_job(self, job_id: str) -> str:
        return self.run("scontrol", "show", "job", "-d", job_id).stdout

    def cancel_all(self) -> None:
        for job in self.jobs():
            self.run("scancel", job["id"], check=False)
        deadline = time.monotonic() + 30
        while self.jobs() and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL_S)

    def stop(self) -> None:
        """Stop slurmd, slurmctld and munged (TERM, then KILL); idempotent."""
        slurmds = [name for name in self.processes if name.startswith("slurmd")]
        for name in (*slurmds, "slurmctld", "munged"):
            proc = self.processes.get(name)
            if proc is None or proc.poll() is not None:
                continue
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=STOP_DEADLINE_S)
        self._kill_job_leftovers()

    def _kill_job_leftovers(self) -> None:
        """slurmstepd and job processes outlive a stopped slurmd: end those of this cluster."""
        marker = f"SLURM_CONF={self.conf}\0".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker in environ or str(self.root).encode() in cmdline:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry.name), signal.SIGKILL)
