"""Where an MPS share's server reaches its GPU's MPS control daemon.

One site setting, ``gpus.mps`` (``pipe_directory``, ``log_directory``), names the two
folders; the daemon of GPU ``<i>`` listens in ``<pipe_directory>/<i>`` and logs to
``<log_directory>/<i>``. The Ansible ``mps`` role reads the same site file and creates
exactly those folders for each GPU in ``mode: mps``; the local, Docker and Slurm backends
hand a server on an MPS share ``CUDA_MPS_PIPE_DIRECTORY``/``CUDA_MPS_LOG_DIRECTORY``
pointing at the folders of its GPU (Docker also mounts that pipe folder, Apptainer binds
the node's pipe directory). Kubernetes sets neither: the NVIDIA device plugin runs its
own MPS daemon and hands pods its folders.

The ``<i>`` is the GPU's index on its node: NVML's on the hub's own host, the site file's
``gpus.nodes[].gpus[].index`` for declared nodes (the hub's inventory numbers declared
GPUs across all nodes, so those come from ``declared_gpus``).

``c.MpsClient.pipe_directory`` / ``log_directory`` / ``declared_gpus`` (hub_config sets
them from the site) apply to every backend spawner that mixes this in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from traitlets import Dict, Unicode, validate
from traitlets.config import LoggingConfigurable

from spawners.core.environment import MPS_LOG_DIRECTORY, MPS_PIPE_DIRECTORY, mps_directories
from spawners.core.model import GpuMode
from spawners.core.profiles import SliceKind, slice_profile
from spawners.inventory.simulated import stable_gpu_uuid
from spawners.ledger.records import AllocationRecord


def declared_mps_gpus(gpus_section: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The site file's MPS GPUs by the UUID the hub's inventory gives them (the site's
    ``uuid``, else the one derived from node and index): their node and index there."""
    found: dict[str, dict[str, Any]] = {}
    for node in gpus_section.get("nodes") or []:
        for gpu in node.get("gpus") or []:
            if gpu.get("mode") == "mps":
                uuid = gpu.get("uuid") or stable_gpu_uuid(gpu["index"], node["name"])
                found[uuid] = {"node": node["name"], "index": gpu["index"]}
    return found


def _absolute(value: str) -> str:
    parts = value.split("/")
    if not value.startswith("/") or any(p in ("", ".", "..") for p in parts[1:]):
        raise ValueError(f"{value!r} is not a plain absolute folder")
    return value


class MpsClient(LoggingConfigurable):
    """Mix into a backend spawner (before the upstream spawner class)."""

    pipe_directory = Unicode(
        MPS_PIPE_DIRECTORY,
        config=True,
        help="""The site's gpus.mps.pipe_directory: GPU <i>'s MPS control daemon listens in
        <pipe_directory>/<i> (the folder the mps Ansible role creates).""",
    )

    log_directory = Unicode(
        MPS_LOG_DIRECTORY,
        config=True,
        help="""The site's gpus.mps.log_directory: GPU <i>'s MPS daemon logs to
        <log_directory>/<i>.""",
    )

    declared_gpus = Dict(
        config=True,
        help="""The site file's MPS GPUs (declared nodes): GPU UUID -> {"node", "index"},
        the index on its node that names its folders (hub_config: declared_mps_gpus).""",
    )

    @validate("pipe_directory", "log_directory")
    def _plain_folder(self, proposal):  # noqa: ANN001, ANN202
        return _absolute(proposal["value"])

    def mps_environment(self, record: AllocationRecord) -> dict[str, str]:
        """The MPS variables of a server on ``record``'s slice ({} unless an MPS share)."""
        if slice_profile(record.slice_name).kind is not SliceKind.MPS:
            return {}
        index = self.mps_gpu_index(record)
        if index is None:
            return {}
        return mps_directories(self.pipe_directory, self.log_directory, index)

    def mps_gpu_index(self, record: AllocationRecord) -> int | None:
        """The index on its node of the GPU ``record`` holds (None: no GPU recorded)."""
        declared = self.declared_gpus.get(record.gpu_uuid or "")
        return declared["index"] if declared else record.gpu_index

    def mps_nodes(self, inventory: Any) -> dict[str, set[int]]:
        """Per node, the indexes of its MPS GPUs: the site's declared nodes, else the
        hub's own host as ``localhost`` (the inventory's NVML or simulated indexes)."""
        by_node: dict[str, set[int]] = {}
        for gpu in inventory.gpus:
            if gpu.mode is not GpuMode.MPS:
                continue
            declared = self.declared_gpus.get(gpu.uuid)
            node, index = (
                (declared["node"], declared["index"]) if declared else (gpu.node, gpu.index)
            )
            by_node.setdefault(node, set()).add(index)
        return by_node
