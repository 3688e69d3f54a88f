"""Where servers run: the site's backend, applied to JupyterHub's config, and the
per-engine hooks reconciliation uses at start-up.

Engine modules are imported only when their backend is configured: batchspawner, for
one, registers an API handler on import (replaced here by a hardened one), and a hub that
runs local servers should not carry it."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hub_config.site import Site, SiteError
from spawners.backends.cgroups import cgroups_available
from spawners.backends.local import (
    HUB_USER,
    SYSTEM_USERS,
    LocalSliceSpawner,
    local_server_running,
    stop_abandoned_local_server,
)
from spawners.backends.slurm_jobs import SlurmCommands
from spawners.core.server_env import ServerEnv
from spawners.ledger.records import AllocationRecord

REPO = Path(__file__).resolve().parent.parent
"""The checkout this hub runs from (`make setup` installs the project in place)."""


def _slurm_commands() -> SlurmCommands:
    # Reconciliation runs before the backend is configured: find squeue on PATH.
    squeue = shutil.which("squeue") or "/usr/bin/squeue"
    return SlurmCommands(bin_dir=os.path.dirname(squeue))


def _slurm_running(record: AllocationRecord) -> bool | None:
    return _slurm_commands().job_of_allocation(record)


def _slurm_abandon(record: AllocationRecord) -> None:
    _slurm_commands().cancel_abandoned(record)


def _docker_running(record: AllocationRecord) -> bool | None:
    from spawners.backends.docker import docker_server_running

    return docker_server_running(record)


def _docker_abandon(record: AllocationRecord) -> None:
    from spawners.backends.docker import remove_abandoned_container

    remove_abandoned_container(record)


RUNNING_PROBES: dict[str, Callable[[AllocationRecord], bool | None]] = {
    "local": local_server_running,
    "slurm": _slurm_running,
    "docker": _docker_running,
    # kubernetes: no probe (None keeps the allocation); KubeSpawner's poll after the
    # hub starts finds a pod that is gone, and the mixin then releases its slice.
}
"""Per engine: does the server of an allocation still run? (reconciliation at start-up)"""

ABANDON: dict[str, Callable[[AllocationRecord], None]] = {
    "local": stop_abandoned_local_server,
    "slurm": _slurm_abandon,
    "docker": _docker_abandon,
}
"""Per engine: stop what a spawn started before its hub died mid-start."""


def configure_backend(c: Any, site: Site, data: Path, env: Mapping[str, str] = os.environ) -> None:
    backend = site["hub"]["backend"]
    kind = backend["kind"]
    c.Spawner.poll_interval = backend["poll_interval"]
    if kind == "local":
        _configure_local(c, backend, data, env)
        return
    if kind == "slurm":
        _configure_slurm(c, backend, data, env)
        return
    configure = {"docker": _configure_docker, "kubernetes": _configure_kubernetes}[kind]
    configure(c, backend, data)


def local_run_as(backend: Mapping[str, Any], euid: int) -> str | None:
    """Whose account local servers run as (None for other backends): each user's own
    when the hub is root, the hub's own when it is not; a setting that cannot hold on
    this machine is refused."""
    if backend["kind"] != "local":
        return None
    run_as = backend["local"]["run_as"]
    if run_as == "auto":
        return SYSTEM_USERS if euid == 0 else HUB_USER
    if run_as == SYSTEM_USERS and euid != 0:
        raise SiteError(
            "hub.backend.local.run_as system-users: creating and switching to the users' "
            "unix accounts needs a hub running as root"
        )
    if run_as == HUB_USER and euid == 0:
        raise SiteError(
            "hub.backend.local.run_as hub-user: this hub runs as root, so every server "
            "would run as root and read the hub's secrets and every home; use auto or "
            "system-users"
        )
    return run_as


def _configure_local(
    c: Any, backend: Mapping[str, Any], data: Path, env: Mapping[str, str]
) -> None:
    local = backend["local"]
    run_as = local_run_as(backend, os.geteuid())
    c.JupyterHub.spawner_class = LocalSliceSpawner
    s = c.LocalSliceSpawner
    s.run_as = run_as
    s.account_prefix = local["account_prefix"]
    default_homes = "/home" if run_as == SYSTEM_USERS else str(data / "homes")
    homes = Path(env.get("SANDBOX_HOMES") or local["homes_root"] or default_homes).resolve()
    if run_as == SYSTEM_USERS and homes.is_relative_to(data):
        raise SiteError(
            f"hub.backend.local.homes_root {homes} is inside the data folder {data}, "
            "which no server may read"
        )
    s.homes_root = str(homes)
    s.node_shape = dict(backend["host_share"])
    s.hub_id = hashlib.sha256(str(data).encode()).hexdigest()[:10]
    why_not = cgroups_available()
    if local["cgroups"] == "required" and why_not:
        raise SiteError(f"hub.backend.local.cgroups required, but {why_not}")
    s.use_cgroups = local["cgroups"] != "off" and why_not is None
    if local["cgroups"] == "auto" and why_not:
        print(
            f"warning: servers run without a cgroup ({why_not}): their CPU and memory are "
            "not limited and processes they leave behind are not stopped",
            file=sys.stderr,
        )
    command = Path(sys.executable).parent / "jupyterhub-singleuser"
    if run_as == SYSTEM_USERS:
        _check_reachable_by_users(command)
    c.Spawner.cmd = [str(command)]
    c.Spawner.environment.update(local_tutorials(env))


def local_tutorials(env: Mapping[str, str], folder: str | None = None) -> dict[str, str]:
    """Where a server without an image finds the current tutorials: ``folder`` (a site
    setting), else the folder SANDBOX_TUTORIALS names in the hub's environment, else the
    notebooks/ folder of the checkout this hub runs from (installed in place by `make
    setup`). Images carry their own."""
    folder = folder or env.get(ServerEnv.TUTORIALS) or str(REPO / "notebooks")
    return {ServerEnv.TUTORIALS: str(Path(folder).resolve())}


def _check_reachable_by_users(command: Path) -> None:
    """The users' own accounts run the server command: every folder above it must let
    others through (a checkout under /root, mode 0700, would fail every spawn)."""
    for folder in command.parents:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            raise SiteError(
                f"{folder} (mode {mode & 0o777:o}) cannot be entered by other unix users, "
                f"so the users' servers cannot run {command}: install the hub where every "
                "user may read it (the Ansible role uses /opt), or chmod o+x that folder"
            )


def _configure_slurm(
    c: Any, backend: Mapping[str, Any], data: Path, env: Mapping[str, str]
) -> None:
    from spawners.backends.slurm import SlurmSliceSpawner, secure_port_reporting

    secure_port_reporting()
    slurm = backend["slurm"]
    c.JupyterHub.spawner_class = SlurmSliceSpawner
    s = c.SlurmSliceSpawner
    s.partition = slurm["partition"] or ""
    s.account = slurm["account"] or ""
    s.qos = slurm["qos"] or ""
    s.team_kinds = {kind: dict(where) for kind, where in slurm["team_kinds"].items()}
    s.gres_name = slurm["gres_name"]
    s.gres_types = dict(slurm["gres_types"])
    s.time_limit = slurm["time_limit"] or ""
    s.when_busy = slurm["when_busy"]
    s.extra_options = list(slurm["extra_options"])
    s.image_runners = {k: dict(v) for k, v in slurm["images"].items()}
    if slurm["default_prefix"]:
        s.default_prefix = slurm["default_prefix"]
    s.prefix_environment = local_tutorials(env, slurm["tutorials"])
    s.apptainer_command = slurm["apptainer_command"]
    s.image_prefix = slurm["image_prefix"]
    s.slurm_bin_dir = slurm["bin_dir"]
    s.submit_as_user = slurm["submit_as_user"]
    s.require_contained_jobs = slurm["require_contained_jobs"]
    s.node_addresses = dict(slurm["node_addresses"])
    s.node_shape = dict(backend["host_share"])
    s.model_store = backend["model_store"] or ""


def _configure_docker(c: Any, backend: Mapping[str, Any], data: Path) -> None:
    from spawners.backends.docker import DockerSliceSpawner

    docker = backend["docker"]
    c.JupyterHub.spawner_class = DockerSliceSpawner
    s = c.DockerSliceSpawner
    s.image_tags = dict(docker["images"])
    requests = docker["gpu_device_requests"]
    s.gpu_device_requests = {True: "on", False: "off"}.get(requests, requests)
    s.network_name = docker["network"]
    s.home_volume_prefix = docker["home_volume_prefix"]
    s.home_mount = docker["home_mount"]
    s.model_store = backend["model_store"] or ""
    s.model_store_mount = docker["model_store_mount"]
    s.node_shape = dict(backend["host_share"])
    # The hub reaches each server at its own address on the network, never through a
    # port published on the host.
    s.use_internal_ip = True


def _configure_kubernetes(c: Any, backend: Mapping[str, Any], data: Path) -> None:
    from spawners.backends.kubernetes import KubeSliceSpawner

    kube = backend["kubernetes"]
    c.JupyterHub.spawner_class = KubeSliceSpawner
    s = c.KubeSliceSpawner
    s.namespace = kube["namespace"]
    s.team_namespaces = kube["team_namespaces"]
    s.enable_user_namespaces = kube["team_namespaces"]
    s.mig_strategy = kube["mig_strategy"]
    s.gpu_product = kube["gpu_product"] or ""
    s.mps_resource = kube["mps_resource"]
    s.image_tags = dict(kube["images"])
    s.image_registry = kube["image_registry"]
    s.gpu_node_selector = dict(kube["gpu_node_selector"])
    s.model_store_claim = kube["model_store_claim"] or ""
    s.node_shape = dict(backend["host_share"])
