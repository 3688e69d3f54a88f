"""One configuration path with no side effects at load (docs/operations.md).

`jupyterhub --show-config` and `jupyterhub upgrade-db` with the real configuration touch
nothing of ours: no ledger is created or changed, no audit row is written, a leftover of
an earlier hub (a half-started spawn's process, an allocation whose server is gone) is not
reconciled. A real start runs the start-up hook exactly once: it reconciles those and
audits the start. And the Zero to JupyterHub values in docs/backends.md, run the way the
chart runs `hub.extraConfig`, configure the same hub through the same function."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from traitlets.config import Config

from spawners.inventory.select import inventory_for_site
from spawners.ledger.ledger import Ledger
from spawners.ledger.records import AllocationRecord
from tests.support.hub import CONFIG, REPO, VENV_BIN, Hub, wait_for, write_site

from .conftest import TEAMS_SITE

pytestmark = pytest.mark.integration


class Planted:
    """What an earlier hub left in the ledger: a spawn it abandoned half-started (its
    process still runs) and an active allocation whose server is gone."""

    def __init__(self, data: Path, site_path: Path) -> None:
        from hub_config.site import load_site

        site = load_site(site_path, env={})
        self.ledger_path = data / "ledger.sqlite"
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        ledger = Ledger(f"sqlite:///{self.ledger_path}")
        try:
            ledger.create_schema()
            inventory = inventory_for_site(site["gpus"])
            common = {"image": "base", "inventory": inventory, "epoch": "an-earlier-hub"}
            pending = ledger.reserve(user="ghost", server_name="", slice_name="1g.10gb", **common)
            assert isinstance(pending, AllocationRecord), pending
            # Its server process, still starting (it carries its allocation id, as the
            # local backend's servers do).
            self.process = subprocess.Popen(
                [sys.executable, "-c", "import time; time.sleep(600)"],
                env={**os.environ, "SANDBOX_ALLOCATION_ID": str(pending.id)},
                start_new_session=True,
            )
            ledger.record_engine(pending.id, engine_ref=f"pid:{self.process.pid}")
            gone = ledger.reserve(user="gone", server_name="", slice_name="3g.40gb", **common)
            assert isinstance(gone, AllocationRecord), gone
            dead = subprocess.Popen([sys.executable, "-c", "pass"])
            dead.wait()
            ledger.record_engine(gone.id, engine_ref=f"pid:{dead.pid}")
            ledger.activate(gone.id)
            self.ids = {pending.id, gone.id}
        finally:
            ledger.dispose()

    def fingerprint(self) -> dict[str, str]:
        """Every byte of the ledger's files (SQLite in WAL mode keeps two or three)."""
        out = {}
        for path in sorted(self.ledger_path.parent.glob("ledger.sqlite*")):
            out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        return out

    def read(self) -> tuple[set[int], list[dict]]:
        ledger = Ledger(f"sqlite:///{self.ledger_path}")
        try:
            return {r.id for r in ledger.live()}, ledger.audit_log(limit=1000)
        finally:
            ledger.dispose()

    def process_alive(self) -> bool:
        return self.process.poll() is None

    def remove(self) -> None:
        if self.process_alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def _jupyterhub(hub: Hub, *args: str) -> subprocess.CompletedProcess:
    """The real hub command with the real configuration, the hub's environment (a
    subcommand goes first: ``jupyterhub upgrade-db -f CONFIG``)."""
    command = [*args, "-f", str(CONFIG)] if args[0] == "upgrade-db" else ["-f", str(CONFIG), *args]
    return subprocess.run(
        [str(VENV_BIN / "jupyterhub"), *command],
        env=hub.env(),
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_show_config_and_upgrade_db_touch_nothing(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site.yaml", TEAMS_SITE)
    hub = Hub(tmp_path / "hub", site=site)
    planted = Planted(hub.data, site)
    try:
        before = planted.fingerprint()
        live_before, audit_before = planted.read()
        assert live_before == planted.ids

        shown = _jupyterhub(hub, "--show-config")
        assert shown.returncode == 0, shown.stderr[-3000:]
        # The configuration carries the hook, which did not run.
        assert "SandboxProxy" in shown.stdout and "start_up_hook" in shown.stdout
        assert "--show-config: the start-up hook does not run" in shown.stderr
        upgraded = _jupyterhub(hub, "upgrade-db")
        assert upgraded.returncode == 0, upgraded.stderr[-3000:]

        assert planted.fingerprint() == before
        live, audit = planted.read()
        assert live == planted.ids
        assert audit == audit_before
        assert planted.process_alive()
    finally:
        planted.remove()


FIRST_RUN_SECRETS = {"proxy-token", "credentials.json"}
"""The proxy's token and the first admin's password: made once, at the first load."""


JUPYTERHUB_OWN = {"jupyterhub.sqlite", "jupyterhub_cookie_secret", "jupyterhub.pid"}
"""What JupyterHub itself writes while it initializes, for --show-config too."""


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


def test_show_config_and_upgrade_db_create_no_ledger(tmp_path: Path) -> None:
    hub = Hub(tmp_path / "hub", site=write_site(tmp_path / "site.yaml", TEAMS_SITE))
    before = _files(hub.data)
    for args in (["upgrade-db"], ["--show-config"]):
        done = _jupyterhub(hub, *args)
        assert done.returncode == 0, done.stderr[-3000:]
        # The configuration was loaded (JupyterHub's own database is where it says)...
        assert (hub.data / "jupyterhub.sqlite").exists(), args
        # ... and nothing of ours was written but the first-run secrets the traits carry
        # (docs/operations.md): no ledger, no remembered service port.
        assert _files(hub.data) - before - FIRST_RUN_SECRETS <= JUPYTERHUB_OWN, args


def test_a_hub_start_runs_the_start_up_hook_once(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site.yaml", TEAMS_SITE)
    hub = Hub(tmp_path / "hub", site=site)
    planted = Planted(hub.data, site)
    try:
        hub.start()
        # Reconciled: the abandoned spawn's process is stopped and both slices are free.
        wait_for(lambda: not planted.process_alive(), 30, "the abandoned spawn to be stopped")
        assert hub.allocations() == []
        assert hub.inventory()["free"]["3g.40gb"] == 2
        _, audit = planted.read()
        starts = [e for e in audit if e["action"] == "hub-start"]
        assert len(starts) == 1, starts
        assert "kept 0 allocation(s), released 2" in starts[0]["detail"]
        releases = [e for e in audit if e["action"] == "release" and e["actor"] == "reconcile"]
        assert len(releases) == 2
        assert [e["action"] for e in audit].count("policy") == 1
        # The courses service remembers its port once it listens (not the config load).
        port_file = hub.data / "courses-port"
        wait_for(port_file.exists, 30, "the courses service to remember its port")
        port = port_file.read_text().strip()

        # A second start: one more start entry, the unchanged policy not audited again;
        # the courses service is offered at the same port (servers keep its address).
        hub.stop()
        hub.start()
        _, audit = planted.read()
        assert [e["action"] for e in audit].count("hub-start") == 2
        assert [e["action"] for e in audit].count("policy") == 1
        assert port_file.read_text().strip() == port
    finally:
        hub.stop()
        planted.remove()
        hub.remove_homes()


# --- Zero to JupyterHub ----------------------------------------------------------------


def docs_values() -> dict:
    """The values file docs/backends.md shows for Zero to JupyterHub."""
    text = (REPO / "docs" / "backends.md").read_text(encoding="utf-8")
    after = text.split("<!-- z2jh-values", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", after, re.S)
    assert block, "docs/backends.md: no yaml block after the z2jh-values marker"
    return yaml.safe_load(block.group(1))


def chart_config(values: dict) -> Config:
    """What the chart's own jupyterhub_config.py has set when it reaches hub.extraConfig
    (the parts this configuration must keep)."""
    c = Config()
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    c.ConfigurableHTTPProxy.api_url = "http://proxy-api:8001"
    c.ConfigurableHTTPProxy.should_start = False
    c.JupyterHub.cleanup_servers = False
    c.JupyterHub.hub_bind_url = "http://:8081"
    c.JupyterHub.hub_connect_url = "http://hub:8081"
    c.JupyterHub.db_url = values["hub"]["db"]["url"]
    c.JupyterHub.cookie_secret = bytes(32)
    c.KubeSpawner.image = "registry.example/sandbox-base:2.1"
    c.JupyterHub.services = [{"name": "chart-service", "api_token": "0" * 64}]
    c.JupyterHub.load_roles = [{"name": "chart-role", "services": ["chart-service"]}]
    return c


def test_the_documented_z2jh_values_configure_the_whole_hub(tmp_path: Path, monkeypatch) -> None:
    from hub_config.startup import SandboxProxy
    from hub_config.wiring import StartUp

    values = docs_values()
    hub_values = values["hub"]
    # The chart mounts extraFiles and sets extraEnv; here they go to a temporary folder.
    site_file = hub_values["extraFiles"]["site"]
    site_path = write_site(tmp_path / Path(site_file["mountPath"]).name, site_file["stringData"])
    for name, value in hub_values["extraEnv"].items():
        if isinstance(value, str):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("SANDBOX_SITE", str(site_path))
    monkeypatch.setenv("SANDBOX_DATA", str(tmp_path / "srv-jupyterhub"))
    monkeypatch.delenv("SANDBOX_PORT", raising=False)
    monkeypatch.delenv("SANDBOX_ADMIN_TOKEN", raising=False)

    c = chart_config(values)
    kept = {
        "api_url": c.ConfigurableHTTPProxy.api_url,
        "db_url": c.JupyterHub.db_url,
        "hub_connect_url": c.JupyterHub.hub_connect_url,
    }

    def get_config(key: str, default=None):  # z2jh.get_config over the values
        node = values
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    # As the chart's jupyterhub_config.py runs them, in its own namespace with `c`.
    namespace = {"c": c, "get_config": get_config}
    started = time.monotonic()
    for _key, config_py in sorted(get_config("hub.extraConfig", {}).items()):
        exec(config_py, namespace)  # noqa: S102  (what the chart does with extraConfig)
    # No ledger contact at load: its PostgreSQL host does not even exist.
    assert time.monotonic() - started < 60

    # The site's authenticator, backend, and the whole hub's services, roles and quotas.
    assert c.JupyterHub.authenticator_class.__name__ == "GenericOAuthenticator"
    assert "course-ml" in c.GenericOAuthenticator.allowed_groups
    assert c.JupyterHub.spawner_class.__name__ == "KubeSliceSpawner"
    services = {s["name"]: s for s in c.JupyterHub.services}
    assert list(services) == ["chart-service", "slices", "courses", "idle-culler", "quota"]
    assert services["slices"]["url"] == "http://hub:8003"
    assert services["courses"]["url"] == "http://hub:8004"
    assert services["idle-culler"]["command"][1:3] == ["-m", "extensions.quota.culler"]
    roles = [r["name"] for r in c.JupyterHub.load_roles]
    assert roles[0] == "chart-role"
    assert {"slices-service", "user", "server", "idle-culler", "quota"} <= set(roles)
    ctx = c.SliceSpawnerMixin.slice_context
    assert ctx.teams.teams and ctx.teams.teams[0].name == "course-ml"
    assert ctx.usage_url == "http://hub:8003/services/slices/api/me"
    # The start-up hook (ledger migration, reconciliation, policy audit), not run yet.
    assert c.JupyterHub.proxy_class is SandboxProxy
    hook = c.SandboxProxy.start_up_hook
    assert isinstance(hook, StartUp) and hook.ctx is ctx
    assert hook.site.path == site_path
    assert ctx.ledger.url == "postgresql+psycopg://sandbox@db/sandbox"
    # What the chart owns stays the chart's.
    assert c.ConfigurableHTTPProxy.api_url == kept["api_url"]
    assert c.ConfigurableHTTPProxy.should_start is False
    assert c.JupyterHub.db_url == kept["db_url"]
    assert c.JupyterHub.hub_connect_url == kept["hub_connect_url"]
    assert "bind_url" not in c.JupyterHub and "pid_file" not in c.ConfigurableHTTPProxy
    assert c.JupyterHub.cleanup_servers is False
    assert c.KubeSpawner.image == "registry.example/sandbox-base:2.1"
