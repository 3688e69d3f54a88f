"""Which processes still compute on a GPU or MIG device (NVML), so that a stopped
server's device is handed on only once nothing of it runs there any more.

``nvml`` is the ``pynvml`` module (nvidia-ml-py) or a replay of it in tests."""

from __future__ import annotations

from typing import Any


def device_process_ids(nvml: Any, device_uuid: str) -> list[int]:
    """The pids NVML reports on the device with this UUID (``GPU-...`` or ``MIG-...``).

    A device NVML does not know (gone, or a simulated UUID) has no processes."""
    try:
        handle = nvml.nvmlDeviceGetHandleByUUID(device_uuid)
    except nvml.NVMLError:
        return []
    pids: set[int] = set()
    for query in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        try:
            processes = getattr(nvml, query)(handle)
        except (nvml.NVMLError, AttributeError):
            continue
        pids.update(int(p.pid) for p in processes)
    return sorted(pids)


def live_device_process_ids(device_uuid: str) -> list[int]:
    """The same, on this node's real NVML (initialised and shut down around the call)."""
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return []
    try:
        return device_process_ids(pynvml, device_uuid)
    finally:
        pynvml.nvmlShutdown()
