"""What this server knows about its slice: its environment, and NVML when it is real."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

ENV_KEYS = (
    "SANDBOX_SLICE",
    "SANDBOX_IMAGE",
    "CUDA_VISIBLE_DEVICES",
    "SANDBOX_SLICE_SIMULATED",
    "SANDBOX_GPU_UUID",
    "SANDBOX_GPU_INDEX",
    "SANDBOX_SLICE_MEMORY_GB",
    "SANDBOX_ALLOCATION_ID",
)


def slice_info(env: Mapping[str, str] = os.environ, nvml_reader=None) -> dict[str, Any]:  # noqa: ANN001
    simulated = env.get("SANDBOX_SLICE_SIMULATED") == "1"
    memory_gb = env.get("SANDBOX_SLICE_MEMORY_GB", "0")
    info: dict[str, Any] = {
        "profile": env.get("SANDBOX_SLICE", ""),
        "image": env.get("SANDBOX_IMAGE", ""),
        "device_uuid": env.get("CUDA_VISIBLE_DEVICES", ""),
        "simulated": simulated,
        "memory_total_bytes": int(memory_gb) * 10**9 if memory_gb.isdigit() else 0,
        "memory_used_bytes": None,
        "utilisation_percent": None,
        "source": "environment",
        "environment": {k: env[k] for k in ENV_KEYS if k in env},
    }
    if not simulated and info["device_uuid"] and nvml_reader is not None:
        measured = nvml_reader(info["device_uuid"])
        if measured:
            info.update(measured)
            info["source"] = "nvml"
    return info
