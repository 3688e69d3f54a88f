"""Host CPU and memory that go with a slice, for engines that enforce them (Docker,
Slurm, Kubernetes). Pure: a slice name and the node's shape in, numbers out.

A GPU slice takes the same share of the node's CPUs and memory as it takes of its GPU
(the slice's GPU-hour weight: the larger of its compute and memory share), so a node
full of 1g.10gb servers is also exactly full of CPU and memory. ``cpu`` servers get a
fixed small share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spawners.core.profiles import slice_profile


@dataclass(frozen=True)
class NodeShape:
    """What one GPU brings with it on a node, and what a cpu-only server gets."""

    cpus_per_gpu: float = 16.0
    memory_gb_per_gpu: float = 120.0
    cpu_slice_cpus: float = 2.0
    cpu_slice_memory_gb: float = 4.0
    min_cpus: float = 1.0
    min_memory_gb: float = 2.0

    @classmethod
    def from_site(cls, section: Mapping[str, Any] | None) -> NodeShape:
        """From the site file's ``hub.backend.host_share`` (validated by the schema)."""
        section = section or {}
        return cls(
            cpus_per_gpu=float(section.get("cpus_per_gpu", cls.cpus_per_gpu)),
            memory_gb_per_gpu=float(section.get("memory_gb_per_gpu", cls.memory_gb_per_gpu)),
            cpu_slice_cpus=float(section.get("cpu_slice_cpus", cls.cpu_slice_cpus)),
            cpu_slice_memory_gb=float(section.get("cpu_slice_memory_gb", cls.cpu_slice_memory_gb)),
        )


@dataclass(frozen=True)
class HostShare:
    """CPU in thousandths of a core and memory in MiB: integers every engine can take."""

    cpu_millis: int
    memory_mib: int

    @property
    def cpus(self) -> float:
        return self.cpu_millis / 1000

    @property
    def whole_cpus(self) -> int:
        """For engines that count whole CPUs (Slurm): rounded down (a full GPU's slices
        still fit the node), never zero."""
        return max(1, self.cpu_millis // 1000)

    @property
    def memory_bytes(self) -> int:
        return self.memory_mib * 1024 * 1024


def host_share(slice_name: str, shape: NodeShape | None = None) -> HostShare:
    """The host resources a server on this slice may use (KeyError: unknown slice)."""
    shape = shape or NodeShape()
    profile = slice_profile(slice_name)
    if not profile.needs_gpu:
        cpus, memory_gb = shape.cpu_slice_cpus, shape.cpu_slice_memory_gb
    else:
        weight = float(profile.gpu_hour_weight)
        cpus = max(shape.min_cpus, shape.cpus_per_gpu * weight)
        memory_gb = max(shape.min_memory_gb, shape.memory_gb_per_gpu * weight)
    # Round down so that the shares of a full GPU never add up to more than the node.
    return HostShare(
        cpu_millis=max(1, math.floor(cpus * 1000)),
        memory_mib=max(1, math.floor(memory_gb * 1024)),
    )
