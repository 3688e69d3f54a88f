"""Simulated H100 80GB GPUs in MIG mode, for machines without a GPU."""

from __future__ import annotations

import uuid as uuidlib

from spawners.core.model import Gpu, GpuMode, Inventory, MigStrategy

SIMULATED_MODEL = "NVIDIA H100 80GB HBM3 (simulated)"


def stable_gpu_uuid(index: int, node: str = "localhost") -> str:
    """Deterministic, NVML-shaped UUID, so a restart sees the same GPUs."""
    return "GPU-" + str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"sandbox-simulated/{node}/{index}"))


def simulated_inventory(count: int, node: str = "localhost") -> Inventory:
    gpus = tuple(
        Gpu(i, stable_gpu_uuid(i, node), SIMULATED_MODEL, GpuMode.MIG, node=node)
        for i in range(count)
    )
    return Inventory(gpus=gpus, strategy=MigStrategy.DYNAMIC, simulated=True, source="simulated")
