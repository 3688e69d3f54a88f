"""Replays recorded NVML answers (fixtures/nvml-slice-readings.json) through the pynvml
calls the slice reader makes. A stand-in for what cannot run here: a GPU."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

FIXTURE = Path(__file__).parent / "fixtures" / "nvml-slice-readings.json"


class NVMLError(Exception):
    pass


class ReplaySliceNvml:
    NVMLError = NVMLError
    NVML_GPM_METRICS_GET_VERSION = 1
    NVML_GPM_METRIC_SM_UTIL = 2

    def __init__(self, recorded: dict | None = None) -> None:
        recorded = recorded or json.loads(FIXTURE.read_text())
        self.devices = recorded["devices"]
        self.samples_taken = 0
        self.samples_freed = 0
        self._gpm_reads: dict[str, int] = {}

    # --- devices ---------------------------------------------------------------

    def nvmlDeviceGetHandleByUUID(self, uuid: bytes) -> dict:
        assert isinstance(uuid, bytes), "pynvml passes the UUID to C as bytes"
        try:
            return dict(self.devices[uuid.decode()], uuid=uuid.decode())
        except KeyError:
            raise NVMLError("Not Found") from None

    def nvmlDeviceGetMemoryInfo(self, handle: dict) -> SimpleNamespace:
        m = handle["memory"]
        return SimpleNamespace(total=m["total"], used=m["used"], free=m["total"] - m["used"])

    def nvmlDeviceIsMigDeviceHandle(self, handle: dict) -> int:
        return int(handle.get("mig", False))

    def nvmlDeviceGetUtilizationRates(self, handle: dict) -> SimpleNamespace:
        if handle.get("mig") or "utilization" not in handle:
            raise NVMLError("Not Supported")
        return SimpleNamespace(**handle["utilization"])

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, mig: dict) -> dict:
        return {"parent_of": mig["uuid"], "gpm_supported": mig.get("gpm_supported", False)}

    def nvmlDeviceGetGpuInstanceId(self, mig: dict) -> int:
        return mig["gi_id"]

    # --- GPU performance monitoring ----------------------------------------------

    def nvmlGpmQueryDeviceSupport(self, parent: dict) -> SimpleNamespace:
        return SimpleNamespace(isSupportedDevice=int(parent["gpm_supported"]))

    def nvmlGpmSampleAlloc(self) -> SimpleNamespace:
        return SimpleNamespace(device=None)

    def nvmlGpmMigSampleGet(self, parent: dict, gi_id: int, sample: SimpleNamespace):
        self.samples_taken += 1
        sample.device = parent["parent_of"]
        return sample

    def c_nvmlGpmMetricsGet_t(self) -> SimpleNamespace:
        return SimpleNamespace(
            version=0,
            numMetrics=0,
            sample1=None,
            sample2=None,
            metrics=[SimpleNamespace(metricId=0, value=0.0)],
        )

    def nvmlGpmMetricsGet(self, request: SimpleNamespace) -> SimpleNamespace:
        assert request.version == self.NVML_GPM_METRICS_GET_VERSION
        assert request.metrics[0].metricId == self.NVML_GPM_METRIC_SM_UTIL
        assert request.sample1 is not request.sample2
        uuid = request.sample2.device
        n = self._gpm_reads.get(uuid, 0)
        self._gpm_reads[uuid] = n + 1
        request.metrics[0].value = self.devices[uuid]["gpm_sm_util"][n]
        return request

    def nvmlGpmSampleFree(self, sample: SimpleNamespace) -> None:
        self.samples_freed += 1
