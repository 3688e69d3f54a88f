"""Choose the inventory the site file asks for."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from spawners.core.model import Inventory, MigStrategy
from spawners.inventory.declared import declared_inventory
from spawners.inventory.nvml import inventory_from_snapshot, probe_nvml
from spawners.inventory.simulated import simulated_inventory


class InventoryError(RuntimeError):
    pass


def inventory_for_site(
    gpus: Mapping[str, Any], probe: Callable[[], list[dict[str, Any]] | None] = probe_nvml
) -> Inventory:
    source = gpus["source"]
    if source == "declared":
        return declared_inventory(gpus)
    if source == "simulated":
        return _simulated(gpus)
    snapshot = probe()
    if snapshot:
        inventory = inventory_from_snapshot(snapshot)
        if gpus["nvml_create_instances"]:
            # The hub owns instance creation: MIG GPUs start empty, the allocator places.
            bare = tuple(replace(g, instances=()) for g in inventory.gpus)
            return replace(inventory, gpus=bare, strategy=MigStrategy.DYNAMIC)
        return inventory
    if source == "nvml":
        raise InventoryError("gpus.source is nvml but NVML found no GPU on this machine")
    return _simulated(gpus)


def _simulated(gpus: Mapping[str, Any]) -> Inventory:
    return simulated_inventory(gpus["simulated_count"], model=gpus["simulated_model"])
