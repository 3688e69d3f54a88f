"""A Docker server's container is always removed when it stops: a kept one would start
again with its old slice's devices. ``remove`` is not a setting and cannot be turned off."""

from __future__ import annotations

import pytest
from traitlets import TraitError
from traitlets.config import Config

from spawners.backends.docker import DockerSliceSpawner


def test_remove_is_true_and_refuses_false() -> None:
    spawner = DockerSliceSpawner()
    assert spawner.remove is True
    with pytest.raises(TraitError, match="remove cannot be False"):
        spawner.remove = False
    assert spawner.remove is True


@pytest.mark.parametrize("section", ["DockerSliceSpawner", "DockerSpawner"])
def test_configuring_remove_changes_nothing(section: str) -> None:
    c = Config()
    c[section].remove = False
    spawner = DockerSliceSpawner(config=c)
    assert spawner.remove is True
    assert not DockerSliceSpawner.class_traits()["remove"].metadata.get("config")
