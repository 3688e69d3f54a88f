"""A start of an image on a slice smaller than its min_slice is refused before anything
is reserved: HTTP 400 with code image-min-slice, and the refused options are not kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from jupyterhub.spawner import Spawner
from tornado import web

from spawners.mixin import SliceSpawnerMixin
from spawners.refusal_status import CODE_HEADER
from tests.backends import inprocess


class NeverStarts(Spawner):
    """An engine the refused start must never reach."""

    async def start(self):
        raise AssertionError("the engine was asked to start a refused server")

    async def stop(self, now: bool = False) -> None:
        return None

    async def poll(self) -> int | None:
        return None


class Spawned(SliceSpawnerMixin, NeverStarts):
    pass


def test_speech_on_cpu_is_refused_and_nothing_is_held(tmp_path: Path) -> None:
    ctx = inprocess.slice_context(tmp_path)
    assert ctx.images["speech"].min_slice == "1g.10gb"  # the built-in defaults
    spawner = Spawned(user=inprocess.user("ana"), hub=inprocess.hub(), slice_context=ctx)
    spawner.user_options = {"image": "speech", "slice": "cpu"}
    with pytest.raises(web.HTTPError) as refused:
        asyncio.run(spawner.start())
    assert refused.value.status_code == 400
    assert refused.value.headers[CODE_HEADER] == "image-min-slice"
    assert "needs at least a 1g.10gb slice" in refused.value.log_message
    assert ctx.ledger.holdings() == []
    # Nothing ever ran there: the refused options are not kept as its defaults.
    assert spawner.user_options == {}
