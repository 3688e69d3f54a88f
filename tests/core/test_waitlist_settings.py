"""hub.queue as the hub applies it: on in the embedded default for the local backend,
JupyterHub's own start limit covering the wait, off where the engine keeps its own queue."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from hub_config.site import SiteError, load_site
from hub_config.starts import SLACK_S, configure_starts, queue_enabled


def applied(tmp_path: Path, text: str | None = None) -> tuple[Config, dict]:
    path = None
    if text is not None:
        path = tmp_path / "site.yaml"
        path.write_text(text)
    hub = load_site(path, env={})["hub"]
    c = Config()
    configure_starts(c, hub)
    return c, hub


def test_the_embedded_default_queues_and_waits_for_it(tmp_path: Path) -> None:
    c, hub = applied(tmp_path)
    assert queue_enabled(hub) and c.SliceSpawnerMixin.queue_enabled is True
    assert c.SliceSpawnerMixin.queue_expire_after == 30 * 60
    assert c.SliceSpawnerMixin.queue_check_every == 5.0
    assert c.Spawner.start_timeout == (
        30 * 60 + hub["start_wait_timeout"] + hub["start_timeout"] + hub["http_timeout"] + SLACK_S
    )


def test_a_site_turns_it_off_and_sets_its_expiry(tmp_path: Path) -> None:
    c, hub = applied(tmp_path, "hub:\n  queue: {enabled: false, expire_after: 2h}\n")
    assert c.SliceSpawnerMixin.queue_enabled is False
    assert c.SliceSpawnerMixin.queue_expire_after == 7200
    # Nothing waits in the queue, so JupyterHub's limit does not count it.
    assert c.Spawner.start_timeout == (
        hub["start_wait_timeout"] + hub["start_timeout"] + hub["http_timeout"] + SLACK_S
    )


def test_slurm_keeps_its_own_queue() -> None:
    hub = {"queue": {"enabled": True}, "backend": {"kind": "slurm"}}
    assert queue_enabled(hub) is False


def test_a_bad_expiry_is_refused_when_the_site_loads(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="expire_after"):
        applied(tmp_path, "hub:\n  queue: {expire_after: soon}\n")
