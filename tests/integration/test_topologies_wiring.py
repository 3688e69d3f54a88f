"""What configure() hands servers and services for hub.internal_url: the hub API, the
slices service and the courses service at the internal address, never 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config.site import load_site
from hub_config.wiring import configure


def _configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub: str) -> Config:
    site = tmp_path / "site.yaml"
    site.write_text(f"site: {{name: t}}\nhub: {hub}\n")
    for name in ("SANDBOX_ADMIN_TOKEN", "SANDBOX_COURSES_URL", "SANDBOX_COURSES_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SANDBOX_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SANDBOX_PORT", "18000")
    c = Config()
    configure(c, load_site(site, env={"SANDBOX_PORT": "18000"}))
    return c


def _service(c: Config, name: str) -> dict:
    [service] = [s for s in c.JupyterHub.services if s["name"] == name]
    return service


@pytest.mark.parametrize(
    ("internal", "bind"), [("http://10.0.0.5", "10.0.0.5"), ("http://hub", "0.0.0.0")]
)
def test_servers_reach_every_hub_endpoint_at_the_internal_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, internal: str, bind: str
) -> None:
    c = _configured(
        tmp_path, monkeypatch, f"{{internal_url: '{internal}', backend: {{kind: slurm}}}}"
    )
    assert c.JupyterHub.hub_ip == bind and c.JupyterHub.hub_port == 18002
    assert c.JupyterHub.hub_connect_url == f"{internal}:18002"
    slices, courses = _service(c, "slices"), _service(c, "courses")
    assert slices["url"] == f"{internal}:18003"
    assert courses["url"].startswith(f"{internal}:")
    for service in (slices, courses):
        assert service["environment"]["SANDBOX_SERVICES_BIND_IP"] == bind
    assert (
        c.Spawner.environment.get_value({})["SANDBOX_COURSES_URL"]
        == courses["url"] + "/services/courses/"
    )
    usage = c.SliceSpawnerMixin.slice_context.usage_url
    assert usage == f"{internal}:18003/services/slices/api/me"
    # The proxy's own API and the public entry stay where they were.
    assert c.ConfigurableHTTPProxy.api_url == "http://127.0.0.1:18001"
    assert c.JupyterHub.bind_url == "http://127.0.0.1:18000"


def test_servers_on_the_hubs_host_get_loopback(tmp_path: Path, monkeypatch) -> None:
    c = _configured(tmp_path, monkeypatch, "{backend: {kind: local}}")
    assert c.JupyterHub.hub_ip == "127.0.0.1" and "hub_connect_url" not in c.JupyterHub
    assert _service(c, "slices")["url"] == "http://127.0.0.1:18003"
    assert _service(c, "courses")["environment"]["SANDBOX_SERVICES_BIND_IP"] == "127.0.0.1"
