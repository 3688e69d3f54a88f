"""Apply a validated site to a JupyterHub config object. The only place where the site
file meets JupyterHub: ports, state, services; auth.py and backends.py do their parts."""

from __future__ import annotations

import difflib
import getpass
import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from traitlets.config import LazyConfigValue

from hub_config.auth import configure_auth
from hub_config.backends import ABANDON, REPO, RUNNING_PROBES, configure_backend, local_run_as
from hub_config.i18n import configure_i18n
from hub_config.ports import hub_ports, internal_address
from hub_config.secrets import token_file
from hub_config.services import (
    COURSES_ROLES,
    courses_service,
    culler_service,
    quota_service,
    server_environment,
)
from hub_config.site import Site, SiteError, site_teams
from hub_config.starts import configure_starts, queue_enabled
from hub_config.startup import SandboxProxy
from spawners.backends.local import HUB_USER
from spawners.backends.mps import declared_mps_gpus
from spawners.context import SliceContext, site_wide_choices, team_choices
from spawners.core.allocator import PlacementStrategy
from spawners.core.images import image_table
from spawners.core.model import Inventory
from spawners.inventory.nvml_processes import live_device_process_ids
from spawners.inventory.select import inventory_for_site
from spawners.ledger.ledger import Ledger, ReconcileReport
from spawners.waitlist import resume_queue


def data_dir(env: Mapping[str, str]) -> Path:
    path = Path(env.get("SANDBOX_DATA") or ".sandbox").resolve()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The hub's state (passwords, tokens, databases): no server's account may read it.
    path.chmod(0o700)
    return path


def ledger_url(site: Site, data: Path) -> str:
    return site["hub"]["ledger_url"] or f"sqlite:///{data / 'ledger.sqlite'}"


def build_context(
    site: Site, data: Path, inventory: Inventory | None = None, usage_url: str = ""
) -> SliceContext:
    inventory = inventory or inventory_for_site(site["gpus"])
    # Not connected yet: the start-up hook creates or migrates its tables (start_up).
    ledger = Ledger(ledger_url(site, data))
    teams = site_teams(site.doc)
    offer = dict(
        images=tuple(site["images"]),
        slices=tuple(site["slices"]),
        default_image=site["defaults"]["image"],
        default_slice=site["defaults"]["slice"],
    )
    # With teams, each user picks from what their team allows; without, from everything.
    choices = (
        team_choices(inventory, teams, **offer) if teams else site_wide_choices(inventory, **offer)
    )
    instances = None
    if (
        site["gpus"]["nvml_create_instances"]
        and not inventory.simulated
        and inventory.source == "nvml"
    ):
        import pynvml

        from spawners.inventory.nvml_instances import NvmlInstanceManager

        instances = NvmlInstanceManager(pynvml)
    return SliceContext(
        instances=instances,
        inventory=inventory,
        ledger=ledger,
        choices_for=choices,
        images=image_table(site["images"]),
        strategy=PlacementStrategy(site["gpus"]["placement"]),
        site_name=site["site"]["name"],
        site_description=site["site"]["description"],
        teams=teams,
        device_processes=live_device_process_ids if inventory.source == "nvml" else None,
        max_gpu_slices_per_user=site["hub"]["max_gpu_slices_per_user"],
        usage_url=usage_url,
    )


def record_policy(ledger: Ledger, site: Site) -> dict | None:
    """Audit a change of the policy (the site file's teams section) at start-up: who
    started the hub with which site file, the new hash and a diff against the last one.
    Returns the new audit entry, or None when the policy is unchanged."""
    text = yaml.safe_dump(json.loads(json.dumps(site["teams"])), sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    last = ledger.last_audit("policy")
    before = json.loads(last["detail"]) if last else {"sha256": None, "teams": ""}
    if before.get("sha256") == digest:
        return None
    diff = difflib.unified_diff(
        before.get("teams", "").splitlines(), text.splitlines(), "before", "after", lineterm=""
    )
    detail = {"sha256": digest, "previous": before.get("sha256"), "diff": list(diff), "teams": text}
    ledger.audit(f"{_operator()} (site file {site.path})", "policy", "teams", json.dumps(detail))
    return ledger.last_audit("policy")


def _operator() -> str:
    # The unix account that started the hub: who deployed this site file.
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def reconcile(ctx: SliceContext, log: Any = None) -> ReconcileReport:
    def is_running(record):
        probe = RUNNING_PROBES.get(record.engine)
        return probe(record) if probe else None

    def abandon(record):
        stop = ABANDON.get(record.engine)
        if stop:
            stop(record)

    report = ctx.ledger.reconcile(ctx.epoch, is_running, abandon)
    if log is not None and report.released:
        for allocation_id, why in report.released:
            log(f"reconcile: released allocation {allocation_id} ({why})")
    return report


def start_up(ctx: SliceContext, site: Site, log: Any = None) -> ReconcileReport:
    """What the hub does once per start, before it loads any user's server: create or
    migrate the ledger's tables, reconcile the ledger with what still runs (stopping
    what a spawn of an earlier hub left half-started), audit a changed policy, and
    audit the start itself with what reconciliation did."""
    ctx.ledger.create_schema()
    report = reconcile(ctx, log)
    record_policy(ctx.ledger, site)
    ctx.ledger.audit(
        f"{_operator()} (site file {site.path})",
        "hub-start",
        site["site"]["name"],
        f"epoch {ctx.epoch}: reconciliation kept {len(report.kept)} allocation(s), "
        f"released {len(report.released)}",
    )
    return report


@dataclass(frozen=True)
class StartUp:
    """The start-up hook configure() installs (``SandboxProxy.start_up_hook``)."""

    ctx: SliceContext
    site: Site

    def __deepcopy__(self, memo: dict) -> StartUp:
        # traitlets deep-copies config values; the hub's machinery must stay one object.
        return self

    def __repr__(self) -> str:  # what --show-config prints
        return f"StartUp(site file {str(self.site.path)!r})"

    def __call__(self, app: Any) -> None:
        start_up(self.ctx, self.site, log=app.log.warning)
        if queue_enabled(self.site["hub"]):
            # Starts that were queued when an earlier hub process ended start again.
            resume_queue(app, self.ctx)


def admin_token(env: Mapping[str, str]) -> str:
    """SANDBOX_ADMIN_TOKEN: "" (no admin service) or 64 hex characters. Anything else, a
    placeholder or a short password, would give JupyterHub's admin role to a guessable
    token, so the hub refuses to start."""
    token = env.get("SANDBOX_ADMIN_TOKEN", "").strip()
    if token and not re.fullmatch(r"[0-9a-fA-F]{64}", token):
        hex_only = re.fullmatch(r"[0-9a-fA-F]+", token) is not None
        has = f"{len(token)} characters" + ("" if hex_only else ", not all hex")
        raise SiteError(
            f"SANDBOX_ADMIN_TOKEN must be 64 hex characters (this one has {has}): "
            "make one with `openssl rand -hex 32`, or unset it for no admin service"
        )
    return token


HOST = "host"
"""configure()'s deployment where this hub runs its own process: ports, proxy, database
and state files (``make run``, the Ansible role)."""
ZERO_TO_JUPYTERHUB = "zero-to-jupyterhub"
"""configure()'s deployment inside the Zero to JupyterHub chart (``hub.extraConfig``):
the chart's own configuration keeps the hub's ports, the proxy beside it, the database
and the cookie secret; services and roles are added to the chart's."""


def configure(
    c: Any, site: Site, env: Mapping[str, str] = os.environ, *, deployment: str = HOST
) -> SliceContext:
    """Apply ``site`` to the JupyterHub config ``c``: traits only. What the hub does once
    when it starts (ledger migration, reconciliation, policy audit) is the start-up hook
    set here (``SandboxProxy.start_up_hook``, see hub_config/startup.py); loading this
    configuration without starting a hub (``--show-config``, ``upgrade-db``) runs none of
    it. The only files written are the data folder and the first-run secrets that traits
    need (the proxy's token, the first admin's password). Returns the slice context."""
    if deployment not in (HOST, ZERO_TO_JUPYTERHUB):
        raise ValueError(f"deployment must be {HOST!r} or {ZERO_TO_JUPYTERHUB!r}")
    admin = admin_token(env)  # before anything touches the data folder
    data = data_dir(env)
    hub = site["hub"]
    ports = hub_ports(hub["port"], env)

    # Servers reach the hub API and the services at hub.internal_url (docs/networking.md).
    internal = internal_address(hub["internal_url"])
    if deployment == HOST:
        c.JupyterHub.bind_url = f"http://{hub['bind_ip']}:{ports.public}"
        c.JupyterHub.hub_ip = internal.bind_ip
        c.JupyterHub.hub_port = ports.hub_api
        if not internal.loopback:
            c.JupyterHub.hub_connect_url = internal.url(ports.hub_api)
        c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{ports.proxy_api}"
        # A stable token lets a restarted hub (even after SIGKILL) reuse the running proxy.
        c.ConfigurableHTTPProxy.auth_token = token_file(data / "proxy-token")
        c.ConfigurableHTTPProxy.pid_file = str(data / "proxy.pid")
        c.JupyterHub.db_url = f"sqlite:///{data / 'jupyterhub.sqlite'}"
        c.JupyterHub.cookie_secret_file = str(data / "jupyterhub_cookie_secret")
        c.JupyterHub.pid_file = str(data / "jupyterhub.pid")
        # A stop (Ctrl-C, SIGTERM, systemctl stop) ends the proxy with the hub; the next
        # start makes a new one and gives it the running servers' routes again.
        c.JupyterHub.cleanup_proxy = True
    # Users' servers outlive a stop of the hub (a restart for a new configuration must
    # not end their kernels), as they outlive a crash: the next start finds them again.
    c.JupyterHub.cleanup_servers = False

    run_as = local_run_as(site["hub"]["backend"], os.geteuid())
    if run_as == HUB_USER:
        print(
            f"servers run as this hub's own unix user {_operator()!r} (the hub is not root):"
            f" only {(site['hub']['admin_users'] or ['admin'])[0]!r} may log in",
            file=sys.stderr,
        )
    configure_auth(c, site, data, owner_only=run_as == HUB_USER)
    native = site["hub"]["authenticator"]["kind"] == "native"
    configure_i18n(c, site["site"]["language"], native_login=native)

    slices_url = internal.url(ports.slices_service)
    ctx = build_context(site, data, usage_url=f"{slices_url}/services/slices/api/me")
    # Reconciliation, the ledger's migration and the policy audit: once per hub start.
    c.JupyterHub.proxy_class = SandboxProxy
    c.SandboxProxy.start_up_hook = StartUp(ctx, site)

    configure_backend(c, site, data, env)
    # Where MPS shares find their GPU's MPS daemon (spawners/backends/mps.py).
    c.MpsClient.pipe_directory = site["gpus"]["mps"]["pipe_directory"]
    c.MpsClient.log_directory = site["gpus"]["mps"]["log_directory"]
    c.MpsClient.declared_gpus = declared_mps_gpus(site["gpus"])
    c.SliceSpawnerMixin.slice_context = ctx
    c.Spawner.default_url = "/lab"
    configure_starts(c, hub)
    c.JupyterHub.allow_named_servers = True
    # JupyterHub refuses the next named server itself (400); 0 = no limit.
    c.JupyterHub.named_server_limit_per_user = hub["named_server_limit_per_user"]

    service_env = {
        "SANDBOX_SITE": str(site.path),
        "SANDBOX_DATA": str(data),
        "SANDBOX_SLICES_PORT": str(ports.slices_service),
        "SANDBOX_SERVICES_BIND_IP": internal.bind_ip,
        "SANDBOX_SIMULATED_GPUS": str(site["gpus"]["simulated_count"]),
        "PYTHONPATH": str(REPO),
    }
    courses = courses_service(env, service_env, internal)
    services = [
        {
            "name": "slices",
            "url": slices_url,
            "command": [sys.executable, "-m", "extensions.slices_service"],
            "environment": service_env,
            "oauth_no_confirm": True,
            # What an admin's browser token for the service may carry (the service checks
            # scopes, see docs/security-services.md); each user gets only what they hold.
            "oauth_client_allowed_scopes": ["read:users", "delete:servers", "read:metrics"],
            "display": True,
        },
        courses,
    ]
    # A server pulls and hands in course labs for its user with its own token.
    c.Spawner.environment.update(server_environment(courses, env))
    roles = [
        # `delete:servers`: the capacity page's stop button, after the service has checked
        # the caller's own token may stop that server; `read:users`: groups for that check.
        {
            "name": "slices-service",
            "scopes": ["read:users", "list:users", "delete:servers"],
            "services": ["slices"],
        },
        *COURSES_ROLES,
        # Every logged-in user may see the inventory (the service itself keeps
        # allocations to admins) and open the courses service (it checks course roles).
        {
            "name": "user",
            "scopes": ["self", "access:services!service=slices", "access:services!service=courses"],
        },
        # A server may read its user's usage and warnings (api/me) with its own token.
        {
            "name": "server",
            "scopes": [
                "users:activity!user",
                "access:servers!server",
                "access:services!service=slices",
                "access:services!service=courses",
            ],
        },
    ]
    for service, role in (culler_service(site, service_env), quota_service(site, service_env)):
        if service is not None:
            services.append(service)
            roles.append(role)
    if admin:
        services.append({"name": "sandbox-admin", "api_token": admin})
        roles.append({"name": "admin", "services": ["sandbox-admin"]})
    # After what is there already (Zero to JupyterHub's hub.services and hub.loadRoles).
    c.JupyterHub.services = [*_configured(c.JupyterHub, "services"), *services]
    c.JupyterHub.load_roles = [*_configured(c.JupyterHub, "load_roles"), *roles]
    return ctx


def _configured(section: Any, name: str) -> list:
    """A list trait's value set so far in a config section ([] when unset)."""
    if name not in section:
        return []
    value = section[name]
    if isinstance(value, LazyConfigValue):
        return list(value.get_value([]))
    return list(value)
