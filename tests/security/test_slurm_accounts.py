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
