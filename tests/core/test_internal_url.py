"""hub.internal_url: the one address servers use for the hub API and the hub's services;
the site loader refuses a loopback address where servers run elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub_config.ports import LOOPBACK, internal_address
from hub_config.site import SiteError, load_site


def _load(tmp_path: Path, hub: str):
    path = tmp_path / "site.yaml"
    path.write_text(f"site: {{name: t}}\nhub: {hub}\n")
    return load_site(path, env={})


REMOTE = [
    ("{kind: docker}", "docker containers on the 'sandbox' network"),
    ("{kind: docker, docker: {network: bridge}}", "docker containers on the 'bridge' network"),
    ("{kind: slurm}", "Slurm jobs on other nodes"),
    ("{kind: slurm, slurm: {node_addresses: {gpu-a: 10.0.0.11}}}", "Slurm jobs on other nodes"),
    (
        "{kind: slurm, slurm: {node_addresses: {gpu-a: 127.0.0.1, gpu-b: 10.0.0.12}}}",
        "Slurm jobs on other nodes",
    ),
    ("{kind: kubernetes}", "Kubernetes pods"),
]


@pytest.mark.parametrize(("backend", "who"), REMOTE)
@pytest.mark.parametrize(
    "internal", [None, "http://127.0.0.1", "http://127.0.1.1", "http://localhost", "http://[::1]"]
)
def test_a_loopback_address_with_remote_servers_is_refused(
    tmp_path: Path, backend: str, who: str, internal: str | None
) -> None:
    setting = f", internal_url: {internal!r}" if internal else ""
    with pytest.raises(SiteError) as e:
        _load(tmp_path, f"{{backend: {backend}{setting}}}")
    message = str(e.value)
    assert who in message and "cannot reach the hub at a loopback address" in message
    assert "hub.internal_url" in message and "docs/networking.md" in message
    assert ("is not set" in message) == (internal is None)


@pytest.mark.parametrize(
    "backend",
    [
        "{kind: local}",
        "{kind: docker, docker: {network: host}}",
        "{kind: slurm, slurm: {node_addresses: {gpu-a: 127.0.0.1}}}",
    ],
)
def test_servers_on_the_hubs_own_host_may_use_loopback(tmp_path: Path, backend: str) -> None:
    assert _load(tmp_path, f"{{backend: {backend}}}")["hub"]["internal_url"] is None
    site = _load(tmp_path, f"{{backend: {backend}, internal_url: 'http://127.0.0.1'}}")
    assert internal_address(site["hub"]["internal_url"]).loopback


@pytest.mark.parametrize(
    ("backend", "url"),
    [
        ("{kind: docker}", "http://172.31.250.1"),
        ("{kind: slurm}", "http://10.0.0.5"),
        ("{kind: kubernetes}", "http://hub"),
        ("{kind: slurm}", "http://[fd00::5]"),
    ],
)
def test_a_reachable_address_is_accepted(tmp_path: Path, backend: str, url: str) -> None:
    assert _load(tmp_path, f"{{backend: {backend}, internal_url: '{url}'}}")["hub"][
        "internal_url"
    ] == (url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://10.0.0.5", "must start with http://"),
        ("10.0.0.5", "must start with http://"),
        ("http://10.0.0.5:8081", "must have no port"),
        ("http://10.0.0.5:x", "must have no port"),
        ("http://10.0.0.5/hub/api", "must have no path"),
        ("http://user@10.0.0.5", "http://HOST and nothing more"),
        ("http://0.0.0.0", "no address a server can reach"),
        ("http://", "names no host"),
    ],
)
def test_a_malformed_internal_url_says_what_is_wrong(tmp_path: Path, url: str, why: str) -> None:
    with pytest.raises(SiteError, match="hub.internal_url") as e:
        _load(tmp_path, f"{{backend: {{kind: slurm}}, internal_url: '{url}'}}")
    assert why in str(e.value)


@pytest.mark.parametrize("section", ["slurm", "docker"])
def test_the_old_per_backend_address_points_to_the_new_setting(
    tmp_path: Path, section: str
) -> None:
    with pytest.raises(SiteError) as e:
        _load(
            tmp_path, f"{{backend: {{kind: {section}, {section}: {{hub_connect_ip: 10.0.0.5}}}}}}"
        )
    assert f"hub.backend.{section}.hub_connect_ip is now hub.internal_url" in str(e.value)
    assert "hub.internal_url: http://10.0.0.5" in str(e.value)


def test_an_address_listens_where_servers_reach_it() -> None:
    ip = internal_address("http://172.31.250.1/")
    assert (ip.host, ip.bind_ip, ip.url(8083)) == (
        "172.31.250.1",
        "172.31.250.1",
        "http://172.31.250.1:8083",
    )
    name = internal_address("http://hub")
    assert (name.bind_ip, name.url(8081)) == ("0.0.0.0", "http://hub:8081")
    v6 = internal_address("http://[fd00::5]")
    assert (v6.bind_ip, v6.url(1)) == ("fd00::5", "http://[fd00::5]:1")
    assert internal_address(None) == internal_address("") == LOOPBACK
    assert LOOPBACK.url(8083) == "http://127.0.0.1:8083" and LOOPBACK.loopback
