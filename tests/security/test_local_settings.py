"""Settings of the local backend that would break isolation are refused at start-up,
with the reason, before any server runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config import backends
from hub_config.backends import configure_backend, local_run_as
from hub_config.site import SiteError, load_site
from spawners.backends.local import HUB_USER, SYSTEM_USERS


def _site(tmp_path: Path, local: str):
    path = tmp_path / "site.yaml"
    path.write_text(
        f"gpus: {{source: simulated}}\nhub: {{backend: {{kind: local, local: {local}}}}}\n"
    )
    return load_site(path, env={})


@pytest.mark.parametrize(
    ("run_as", "euid", "expected"),
    [("auto", 0, SYSTEM_USERS), ("auto", 1000, HUB_USER), ("system-users", 0, SYSTEM_USERS)],
)
def test_who_servers_run_as(tmp_path: Path, run_as: str, euid: int, expected: str) -> None:
    site = _site(tmp_path, f"{{run_as: {run_as}}}")
    assert local_run_as(site["hub"]["backend"], euid) == expected


def test_a_root_hub_never_runs_servers_as_itself(tmp_path: Path) -> None:
    site = _site(tmp_path, "{run_as: hub-user}")
    with pytest.raises(SiteError, match="every server would run as root"):
        local_run_as(site["hub"]["backend"], 0)


def test_unix_accounts_need_root(tmp_path: Path) -> None:
    site = _site(tmp_path, "{run_as: system-users}")
    with pytest.raises(SiteError, match="needs a hub running as root"):
        local_run_as(site["hub"]["backend"], 1000)


def test_homes_inside_the_data_folder_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends.os, "geteuid", lambda: 0)
    site = _site(tmp_path, f"{{run_as: system-users, homes_root: {tmp_path / 'data' / 'h'}}}")
    with pytest.raises(SiteError, match="inside the data folder"):
        configure_backend(Config(), site, tmp_path / "data", env={})


def test_a_server_command_other_users_cannot_reach_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends.os, "geteuid", lambda: 0)
    private = tmp_path / "private"
    (private / "bin").mkdir(parents=True)
    private.chmod(0o700)
    monkeypatch.setattr(backends.sys, "executable", str(private / "bin" / "python"))
    site = _site(tmp_path, "{run_as: system-users}")
    with pytest.raises(SiteError, match="cannot be entered by other unix users"):
        configure_backend(Config(), site, tmp_path / "data", env={"SANDBOX_HOMES": "/home"})


def test_required_cgroups_that_cannot_be_had_stop_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "cgroups_available", lambda: "no cgroup v1 here")
    monkeypatch.setattr(backends.os, "geteuid", lambda: 1000)
    site = _site(tmp_path, "{cgroups: required}")
    with pytest.raises(SiteError, match="cgroups required, but no cgroup v1 here"):
        configure_backend(Config(), site, tmp_path / "data", env={})
