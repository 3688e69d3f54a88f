"""Every hub service starts from extensions/bootstrap.py: the site the hub gives it
(validated), its teams, the data folder and the ledger there; without the hub's
environment it refuses with one line, and each service uses it."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from extensions.bootstrap import ServiceNotStarted, bootstrap
from hub_config.site import SiteError
from tests.extensions.support import run_service
from tests.support.hub import REPO

SITE = """
site: {name: Bootstrap test}
teams:
  acme: {kind: startup, groups: [acme]}
"""


def test_a_service_starts_from_the_hubs_site_and_data(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(SITE)
    env = {
        "SANDBOX_SITE": str(site),
        "SANDBOX_DATA": str(tmp_path),
        "SANDBOX_SERVICES_BIND_IP": "10.1.2.3",
    }
    service = bootstrap(env)
    assert service.site["site"]["name"] == "Bootstrap test"
    assert [t.name for t in service.teams.teams] == ["acme"]
    assert service.data == tmp_path and service.address == "10.1.2.3"
    ledger = service.ledger()
    try:
        ledger.create_schema()  # what the hub's start-up hook does
        assert (tmp_path / "ledger.sqlite").exists()
        assert service.current_ledger("test service").live() == []
    finally:
        ledger.dispose()
    assert bootstrap({"SANDBOX_DATA": str(tmp_path)}).address == "127.0.0.1"


def test_without_the_hubs_environment_it_says_so() -> None:
    with pytest.raises(ServiceNotStarted, match="SANDBOX_DATA is not set"):
        bootstrap({})


def test_a_bad_site_is_refused_as_the_hub_refuses_it(tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text("site: {name: x}\nno_such_section: 1\n")
    with pytest.raises(SiteError):
        bootstrap({"SANDBOX_SITE": str(site), "SANDBOX_DATA": str(tmp_path)})


SERVICES = (
    "extensions/slices_service/__main__.py",
    "extensions/courses/__main__.py",
    "extensions/quota/__main__.py",
    "extensions/quota/culling.py",
)


@pytest.mark.parametrize("module", SERVICES)
def test_each_service_starts_from_the_bootstrap(module: str) -> None:
    tree = ast.parse((REPO / module).read_text())
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "bootstrap" in called
    assert not called & {"load_site", "site_teams", "Ledger", "ledger_url"}


@pytest.mark.parametrize(
    "module", ["extensions.slices_service", "extensions.quota", "extensions.courses"]
)
def test_a_service_started_without_the_hub_says_so_in_one_line(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SANDBOX_", "JUPYTERHUB_"))}
    done = run_service(module, env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        "SANDBOX_DATA is not set: hub services are started by the hub, which sets it"
    ]
