"""Simulated GPUs in MIG mode, for machines without a GPU: H100 80GB by default, or any
model of the catalogue (``gpus.simulated_model``)."""

from __future__ import annotations

import uuid as uuidlib

from spawners.core.gpu_models import DEFAULT_MODEL, MODELS_BY_KEY
from spawners.core.model import Gpu, GpuMode, Inventory, MigStrategy
from spawners.core.profiles import catalogue_table

SIMULATED_MODEL = "NVIDIA H100 80GB HBM3 (simulated)"


def stable_gpu_uuid(index: int, node: str = "localhost") -> str:
    """Deterministic, NVML-shaped UUID, so a restart sees the same GPUs."""
    return "GPU-" + str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"sandbox-simulated/{node}/{index}"))


def simulated_name(model_key: str) -> str:
    """``NVIDIA H100 80GB HBM3 (simulated)``: the model's NVML name, marked."""
    if model_key == DEFAULT_MODEL.key:
        return SIMULATED_MODEL
    model = MODELS_BY_KEY[model_key]
    return f"{(model.device_names or (model.label,))[0]} (simulated)"


def simulated_inventory(
    count: int, node: str = "localhost", model: str = DEFAULT_MODEL.key
) -> Inventory:
    table = catalogue_table(model)
    gpus = tuple(
        Gpu(
            i,
            stable_gpu_uuid(i, node),
            simulated_name(model),
            GpuMode.MIG,
            memory_gb=table.memory_gb,
            node=node,
            mig=table,
        )
        for i in range(count)
    )
    return Inventory(gpus=gpus, strategy=MigStrategy.DYNAMIC, simulated=True, source="simulated")
