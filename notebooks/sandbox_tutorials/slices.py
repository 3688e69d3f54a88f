"""Which slice is this server on, what should it deliver, and how big may a batch be.

The hub tells the single-user server its slice through the environment
(SANDBOX_SLICE, SANDBOX_IMAGE, CUDA_VISIBLE_DEVICES, SANDBOX_SLICE_SIMULATED, and
SANDBOX_SLICE_MEMORY_GB / SANDBOX_SLICE_KIND / CUDA_MPS_ACTIVE_THREAD_PERCENTAGE
where it knows them: MIG profiles, MPS shares mps.10gb/20gb/40gb, a whole `gpu`); NVML,
when a driver is present, says what the device really is. Everything here also works
without a GPU: the answer is then the `cpu` slice.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# H100 80GB HBM3 (SXM) dense peaks, TFLOP/s (NVIDIA H100 datasheet). A MIG slice gets
# about compute/7 of them (its share of the GPU's SMs).
H100_PEAK_TFLOPS = {"float32": 67.0, "tf32": 494.7, "bfloat16": 989.4, "float16": 989.4}

# profile -> (memory GB, compute sevenths), as in the MIG table of the design.
MIG_PROFILES = {
    "1g.10gb": (10, 1),
    "1g.20gb": (20, 1),
    "2g.20gb": (20, 2),
    "3g.40gb": (40, 3),
    "4g.40gb": (40, 4),
    "7g.80gb": (80, 7),
}
BIGGER = {
    "cpu": "1g.10gb",
    "mps.10gb": "mps.20gb",
    "mps.20gb": "mps.40gb",
    "mps.40gb": "gpu",
    "1g.10gb": "1g.20gb or 2g.20gb",
    "1g.20gb": "2g.20gb",
    "2g.20gb": "3g.40gb",
    "3g.40gb": "4g.40gb",
    "4g.40gb": "7g.80gb",
}


@dataclass
class SliceInfo:
    """What this server was given, from the environment and (if present) NVML."""

    name: str
    image: str
    devices: str
    simulated: bool
    cuda: bool
    memory_gb: float
    compute_fraction: float | None
    nvml: dict[str, Any] = field(default_factory=dict)

    def expected_tflops(self, dtype: str) -> float | None:
        """What a matmul in this dtype should reach on this slice (None on CPU)."""
        if self.compute_fraction is None or dtype not in H100_PEAK_TFLOPS:
            return None
        return H100_PEAK_TFLOPS[dtype] * self.compute_fraction

    @property
    def bigger(self) -> str:
        return BIGGER.get(self.name, "a bigger slice")

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs for a table."""
        out = [
            ("slice (SANDBOX_SLICE)", self.name),
            ("image (SANDBOX_IMAGE)", self.image),
            ("device (CUDA_VISIBLE_DEVICES)", self.devices or "(none: CPU)"),
            ("simulated inventory", "yes" if self.simulated else "no"),
            ("CUDA available to torch", "yes" if self.cuda else "no"),
            ("memory for tensors", f"{self.memory_gb:.1f} GB"),
            (
                "share of an H100's compute",
                f"{self.compute_fraction:.2f}" if self.compute_fraction else "n/a (CPU)",
            ),
        ]
        out += [(f"NVML {k}", str(v)) for k, v in self.nvml.items()]
        return out


def _host_memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError):
        return 4.0


def read_nvml(devices: str) -> dict[str, Any]:
    """Name and memory of the visible device from NVML; {} without a driver."""
    try:
        import pynvml
    except ImportError:
        return {}
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return {}
    try:
        first = devices.split(",")[0].strip() if devices else ""
        if first.startswith(("MIG-", "GPU-")):
            handle = pynvml.nvmlDeviceGetHandleByUUID(first)
        else:
            handle = pynvml.nvmlDeviceGetHandleByIndex(int(first or 0))
        mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
        name = pynvml.nvmlDeviceGetName(handle)
        return {
            "device": name.decode() if isinstance(name, bytes) else name,
            "memory total": f"{mem.total / 1e9:.1f} GB",
            "memory used": f"{mem.used / 1e9:.1f} GB",
        }
    except (pynvml.NVMLError, ValueError):
        return {}
    finally:
        with contextlib.suppress(pynvml.NVMLError):
            pynvml.nvmlShutdown()


def slice_info(env: dict[str, str] | None = None) -> SliceInfo:
    """The slice this server runs on. Falls back to `cpu` when nothing says otherwise."""
    import torch

    env = dict(os.environ if env is None else env)
    cuda = torch.cuda.is_available()
    devices = env.get("CUDA_VISIBLE_DEVICES", "")
    name = env.get("SANDBOX_SLICE") or ("gpu" if cuda else "cpu")
    memory_gb = _host_memory_gb()
    fraction: float | None = None
    kind = env.get("SANDBOX_SLICE_KIND", "")
    if name in MIG_PROFILES:
        memory_gb, sevenths = MIG_PROFILES[name]
        fraction = sevenths / 7
    elif kind == "mps" or name.startswith("mps."):
        # MPS shares (mps.10gb, ...): the hub sets the SM percentage and pinned memory.
        pct = env.get("CUDA_MPS_ACTIVE_THREAD_PERCENTAGE")
        fraction = float(pct) / 100 if pct else None
    elif cuda or name == "gpu":
        fraction = 1.0
        memory_gb = 80.0
    if env.get("SANDBOX_SLICE_MEMORY_GB", "0") not in ("", "0"):
        memory_gb = float(env["SANDBOX_SLICE_MEMORY_GB"])  # the hub's word for this slice
    if cuda:
        free, _total = torch.cuda.mem_get_info()
        memory_gb = min(memory_gb, free / 1e9)
    return SliceInfo(
        name=name,
        image=env.get("SANDBOX_IMAGE", "(not set: not started by the hub)"),
        devices=devices,
        simulated=env.get("SANDBOX_SLICE_SIMULATED") == "1",
        cuda=cuda,
        memory_gb=memory_gb,
        compute_fraction=fraction,
        nvml=read_nvml(devices) if cuda or devices else {},
    )


def pick_device(info: SliceInfo) -> str:
    return "cuda" if info.cuda else "cpu"


def batch_size(info: SliceInfo, mb_per_item: float, *, cap: int, floor: int = 1) -> int:
    """A batch that uses at most a third of the slice's memory (the rest: weights,
    optimiser state, activations we did not count, other notebooks)."""
    budget_mb = info.memory_gb * 1000 / 3
    if not info.cuda:
        budget_mb = min(budget_mb, 2000)  # host RAM is shared; stay modest on CPU
    return max(floor, min(cap, int(budget_mb // max(mb_per_item, 1e-3))))


class SliceTooSmall(RuntimeError):
    """CUDA ran out of memory even at the smallest batch."""


def oom_message(info: SliceInfo, what: str) -> str:
    return (
        f"CUDA ran out of memory during {what} on slice '{info.name}' "
        f"({info.memory_gb:.0f} GB). Pick a bigger slice ({info.bigger}) in the spawn "
        "form, or lower the batch size / image size in the parameter cell."
    )


def is_oom(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc)


@contextlib.contextmanager
def oom_advice(info: SliceInfo, what: str) -> Iterator[None]:
    """Turn a CUDA out-of-memory error into advice the user can act on."""
    try:
        yield
    except RuntimeError as exc:
        if not is_oom(exc):
            raise
        import torch

        torch.cuda.empty_cache()
        raise SliceTooSmall(oom_message(info, what)) from exc


def shrink_on_oom(info: SliceInfo, step: Callable[[int], Any], batch: int, what: str) -> Any:
    """Run step(batch); on CUDA OOM halve the batch and retry, saying so; below 1 give up
    with advice to pick a bigger slice."""
    while True:
        try:
            return step(batch)
        except RuntimeError as exc:
            if not is_oom(exc):
                raise
            import torch

            torch.cuda.empty_cache()
            if batch <= 1:
                raise SliceTooSmall(oom_message(info, what)) from exc
            batch //= 2
            print(
                f"Out of GPU memory: retrying {what} with batch size {batch}. "
                + oom_message(info, what)
            )
