"""Live memory and utilisation of one slice through NVML (nvidia-ml-py).

``CUDA_VISIBLE_DEVICES`` names the slice: a MIG device UUID (``MIG-...``) or a whole
GPU's UUID (MPS shares and whole GPUs). Memory comes from the device handle of that
UUID, which for a MIG device is the instance's own memory. NVML has no utilisation
counter for a MIG device; on Hopper the GPU performance monitor (GPM) reports SM
activity per GPU instance, from two samples taken a while apart, so the first reading
of a MIG slice has no utilisation yet.

The reader only calls the ``nvml`` object it is given, so tests replay recorded NVML
answers through a stand-in with the same functions."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any


def _value(result: Any) -> Any:
    # NVML returns ctypes values (c_uint); recorded stand-ins return plain ones.
    return getattr(result, "value", result)


class NvmlSliceReader:
    """Callable: device UUID -> {memory_total_bytes, memory_used_bytes,
    utilisation_percent, utilisation_source} or None when NVML cannot say."""

    def __init__(self, nvml: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.nvml = nvml
        self.clock = clock
        self._lock = threading.Lock()
        self._gpm_previous: dict[str, Any] = {}

    def __call__(self, device_uuid: str) -> dict[str, Any] | None:
        nvml = self.nvml
        with self._lock:
            try:
                handle = nvml.nvmlDeviceGetHandleByUUID(device_uuid.encode())
                memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            except nvml.NVMLError:
                return None
            reading: dict[str, Any] = {
                "memory_total_bytes": int(memory.total),
                "memory_used_bytes": int(memory.used),
                "utilisation_percent": None,
                "utilisation_source": None,
            }
            if self._is_mig(handle):
                util = self._gpm_mig_util(device_uuid, handle)
                if util is not None:
                    reading.update(utilisation_percent=util, utilisation_source="gpm-sm")
            else:
                try:
                    rates = nvml.nvmlDeviceGetUtilizationRates(handle)
                    reading.update(utilisation_percent=float(rates.gpu), utilisation_source="nvml")
                except nvml.NVMLError:
                    pass
            return reading

    def _is_mig(self, handle: Any) -> bool:
        try:
            return bool(_value(self.nvml.nvmlDeviceIsMigDeviceHandle(handle)))
        except self.nvml.NVMLError:
            return False

    def _gpm_mig_util(self, device_uuid: str, mig: Any) -> float | None:
        """SM activity of the GPU instance between the previous sample and now."""
        nvml = self.nvml
        try:
            parent = nvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig)
            if not nvml.nvmlGpmQueryDeviceSupport(parent).isSupportedDevice:
                return None
            gi_id = _value(nvml.nvmlDeviceGetGpuInstanceId(mig))
            sample = nvml.nvmlGpmMigSampleGet(parent, gi_id, nvml.nvmlGpmSampleAlloc())
        except (nvml.NVMLError, AttributeError):
            return None
        previous = self._gpm_previous.get(device_uuid)
        self._gpm_previous[device_uuid] = sample
        if previous is None:
            return None
        try:
            request = nvml.c_nvmlGpmMetricsGet_t()
            request.version = nvml.NVML_GPM_METRICS_GET_VERSION
            request.numMetrics = 1
            request.sample1 = previous
            request.sample2 = sample
            request.metrics[0].metricId = nvml.NVML_GPM_METRIC_SM_UTIL
            result = nvml.nvmlGpmMetricsGet(request)
            value = float(result.metrics[0].value)
        except nvml.NVMLError:
            return None
        finally:
            with contextlib.suppress(nvml.NVMLError):
                nvml.nvmlGpmSampleFree(previous)
        return max(0.0, min(100.0, value))


def open_reader() -> NvmlSliceReader | None:
    """A reader on this machine's NVML, or None where there is no NVML or GPU."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:
        return None
    return NvmlSliceReader(pynvml)
