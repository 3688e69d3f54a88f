"""On Slurm, jobs run as the hub user's own cluster account: a hub user whose name is a
system account (an editable OIDC username of "root", "daemon") is refused, never run as it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tornado import web

from spawners.backends.slurm import SlurmSliceSpawner
from tests.backends import inprocess


@pytest.mark.parametrize("name", ["root", "daemon"])
def test_a_system_account_name_never_submits_a_job(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = inprocess.slice_context(tmp_path)
    spawner = SlurmSliceSpawner(user=inprocess.user(name), hub=inprocess.hub(), slice_context=ctx)
    spawner.allocation = inprocess.record(id=1, user=name, slice_name="cpu", image="base")
    submitted = []

    async def never(*args, **kwargs):  # the cluster must not even be asked
        submitted.append(args)
        return "1"

    monkeypatch.setattr(type(spawner.commands), "submit", never)
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(spawner.submit_batch_script())
    assert refused.value.status_code == 403
    assert "system account" in refused.value.log_message
    assert submitted == []


def test_a_cluster_that_cannot_contain_jobs_gets_no_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spawners.backends import slurm_jobs

    ctx = inprocess.slice_context(tmp_path)
    spawner = SlurmSliceSpawner(
        user=inprocess.user("sbxslurm1"), hub=inprocess.hub(), slice_context=ctx
    )
    spawner.allocation = inprocess.record(id=1, user="sbxslurm1", slice_name="cpu", image="base")
    monkeypatch.setattr(SlurmSliceSpawner, "_proctrack", None)
    monkeypatch.setattr(spawner_module_pwd(), "getpwnam", lambda _n: FakeAccount())
    asked = []

    async def show_config(self, env):
        asked.append(1)
        return slurm_jobs.proctrack_type(RECORDED_SHOW_CONFIG)

    async def never(*args, **kwargs):
        raise AssertionError("sbatch must not run")

    monkeypatch.setattr(type(spawner.commands), "proctrack", show_config)
    monkeypatch.setattr(type(spawner.commands), "submit", never)
    for _ in range(2):
        with pytest.raises(web.HTTPError) as refused:
            asyncio.run(spawner.submit_batch_script())
        assert "ProctrackType=proctrack/cgroup" in refused.value.log_message
    assert asked == [1], "asked once per hub"


RECORDED_SHOW_CONFIG = """\
Configuration data as of 2026-12-01T09:40:02
PrologFlags             = (null)
ProctrackType           = proctrack/linuxproc
Prolog                  = (null)
"""


class FakeAccount:
    """A cluster account of an ordinary user (uid >= 1000)."""

    pw_uid = pw_gid = 1013
    pw_name = "sbxslurm1"
    pw_dir = "/tmp"
    pw_shell = "/bin/bash"


def spawner_module_pwd():
    from spawners.backends import slurm

    return slurm.pwd


def test_proctrack_is_read_from_scontrol_show_config() -> None:
    from spawners.backends.slurm_jobs import proctrack_type

    assert proctrack_type(RECORDED_SHOW_CONFIG) == "proctrack/linuxproc"
    assert proctrack_type("ProctrackType = proctrack/cgroup\n") == "proctrack/cgroup"
    assert proctrack_type("nothing here") == ""
