"""gpus.mig_strategy on declared GPUs, per GPU: a GPU with a layout offers its instances
(they exist on the node), a MIG GPU without one follows the site's strategy."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub_config.site import load_site
from spawners.core.allocator import allocate, free_counts, offered_slices
from spawners.core.model import MigStrategy, Placement, Refusal, RefusalCode
from spawners.inventory.declared import declared_inventory

SITE = """
gpus:
  source: declared
  mig_strategy: {strategy}
  nodes:
    - name: gpu01
      gpus:
        - {{index: 0, mode: mig, layout: [{{profile: 3g.40gb, start: 0}}]}}
        - {{index: 1, mode: mig}}
"""


def inventory(tmp_path: Path, strategy: str):
    path = tmp_path / "site.yaml"
    path.write_text(SITE.format(strategy=strategy), encoding="utf-8")
    return declared_inventory(load_site(path, env={})["gpus"])


def test_dynamic_places_on_the_gpu_without_a_layout(tmp_path: Path) -> None:
    inv = inventory(tmp_path, "dynamic")
    assert inv.strategy is MigStrategy.DYNAMIC
    assert [g.strategy for g in inv.gpus] == [MigStrategy.STATIC, None]
    # The layout's GPU offers its one instance; the other the whole H100 table.
    assert free_counts(inv, ()) == {
        "1g.10gb": 7, "1g.20gb": 4, "2g.20gb": 3, "3g.40gb": 3, "4g.40gb": 1, "7g.80gb": 1,
    }  # fmt: skip
    small = allocate(inv, (), "1g.10gb")
    assert isinstance(small, Placement) and small.gpu_index == 1
    # A 3g.40gb takes the instance that exists before room on the placed GPU.
    fixed = allocate(inv, (), "3g.40gb")
    assert isinstance(fixed, Placement) and (fixed.gpu_index, fixed.start) == (0, 0)
    assert fixed.device_uuid == "MIG-declared-gpu01-0-3g.40gb-0"
    whole = allocate(inv, (), "7g.80gb")
    assert isinstance(whole, Placement) and whole.gpu_index == 1


def test_static_offers_only_the_instances_of_the_layout(tmp_path: Path) -> None:
    inv = inventory(tmp_path, "static")
    assert inv.strategy is MigStrategy.STATIC
    assert offered_slices(inv) == ("cpu", "3g.40gb")
    refusal = allocate(inv, (), "1g.10gb")
    assert isinstance(refusal, Refusal) and refusal.code is RefusalCode.NOT_OFFERED


@pytest.mark.parametrize("strategy", ["static", "dynamic"])
def test_the_layout_gpu_holds_only_its_instances(tmp_path: Path, strategy: str) -> None:
    inv = inventory(tmp_path, strategy)
    first = allocate(inv, (), "3g.40gb")
    assert isinstance(first, Placement) and first.gpu_index == 0
    # Its free slots 4-7 are no room: a second 3g.40gb goes to the placed GPU, or none.
    second = allocate(inv, [first.as_holding()], "3g.40gb")
    if strategy == "dynamic":
        assert isinstance(second, Placement) and second.gpu_index == 1
    else:
        assert isinstance(second, Refusal) and second.code is RefusalCode.NO_CAPACITY
