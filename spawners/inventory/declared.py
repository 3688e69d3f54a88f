"""GPUs declared in the site file (clusters, and the layout the mig_layout role applies).

A declared GPU names its model (``model: h200-141gb``, or the name NVML reports, such
as ``NVIDIA H200``; an H100 80GB when not given): its MIG profiles, their geometry and
its memory come from the catalogue for that model. A declared MIG layout becomes static
instances, on that GPU only: a MIG GPU without a layout follows ``gpus.mig_strategy``
(dynamic: the hub places; static: it offers nothing). The instances' UUIDs are only
known on the node, so the declared inventory names them by node, GPU and slot until an
engine reports the real ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spawners.core.gpu_models import DEFAULT_MODEL, GPU_MODELS
from spawners.core.model import Gpu, GpuMode, Inventory, MigInstance, MigStrategy
from spawners.core.placement import fits
from spawners.core.profiles import MigTable, table_for_device
from spawners.inventory.simulated import stable_gpu_uuid

DEFAULT_DECLARED_MODEL = DEFAULT_MODEL.device_names[0]
"""What a declared GPU without ``model`` is: ``NVIDIA H100 80GB HBM3``."""


class DeclaredGpuError(ValueError):
    """A declared GPU or layout the hub cannot use; the message names node and GPU."""


def declared_instance_uuid(node: str, index: int, profile: str, start: int) -> str:
    return f"MIG-declared-{node}-{index}-{profile}-{start}"


def known_models() -> str:
    return ", ".join(m.key for m in GPU_MODELS)


def declared_table(gpu: Mapping[str, Any]) -> MigTable | None:
    """The catalogue table of a declared GPU's model; None if the catalogue lacks it."""
    memory = gpu.get("memory_gb")
    return table_for_device(
        gpu.get("model") or DEFAULT_DECLARED_MODEL, memory * 1024 if memory else None
    )


def layout_errors(gpus_section: Mapping[str, Any]) -> list[str]:
    """What a schema cannot say about ``gpus.nodes``: every MIG GPU's model is one the
    catalogue knows, and its layout uses that model's profiles at valid, free slots.
    Each message starts with ``node N GPU I:``; empty when all is well."""
    errors: list[str] = []
    for node in gpus_section["nodes"]:
        for gpu in node["gpus"]:
            where = f"node {node['name']} GPU {gpu['index']}"
            layout = gpu.get("layout", [])
            if layout and gpu["mode"] != "mig":
                errors.append(f"{where}: a layout needs mode: mig")
                continue
            table = declared_table(gpu)
            if table is None:
                if gpu["mode"] == "mig":
                    errors.append(
                        f"{where}: unknown GPU model {gpu.get('model')!r} for MIG (known: "
                        f"{known_models()}, or the name NVML reports, e.g. 'NVIDIA H200')"
                    )
                continue
            mask = compute = 0
            for inst in sorted(layout, key=lambda i: i["start"]):
                profile = table.profile(inst["profile"])
                if profile is None:
                    errors.append(
                        f"{where}: {inst['profile']} is not a MIG profile of the "
                        f"{table.label} (its profiles: {', '.join(table.names)})"
                    )
                    break
                if not fits(profile, inst["start"], mask, compute):
                    errors.append(
                        f"{where}: {inst['profile']} cannot start at slot {inst['start']} "
                        f"(valid starts {list(profile.valid_starts)}, no overlap, at most 7 "
                        "compute slices)"
                    )
                    break
                mask |= ((1 << profile.memory_slots) - 1) << inst["start"]
                compute += profile.compute
    return errors


def _gpu_of(node: str, g: Mapping[str, Any], position: int) -> Gpu:
    table = declared_table(g)
    if table is None and g["mode"] == "mig":
        raise DeclaredGpuError(
            f"node {node} GPU {g['index']}: unknown GPU model {g.get('model')!r}"
        )
    instances = []
    for i in sorted(g.get("layout", []), key=lambda i: i["start"]):
        profile = table.profile(i["profile"]) if table is not None else None
        if profile is None:
            raise DeclaredGpuError(
                f"node {node} GPU {g['index']}: {i['profile']} is not a MIG profile of its model"
            )
        instances.append(
            MigInstance(
                profile.name,
                i["start"],
                declared_instance_uuid(node, g["index"], profile.name, i["start"]),
                profile.memory_slots,
            )
        )
    return Gpu(
        # A layout is the instances the mig_layout role created: they are the slices of
        # this GPU whatever gpus.mig_strategy says for the GPUs without one.
        strategy=MigStrategy.STATIC if instances else None,
        index=position,
        uuid=g.get("uuid") or stable_gpu_uuid(g["index"], node),
        model=g.get("model") or DEFAULT_DECLARED_MODEL,
        mode=GpuMode(g["mode"]),
        memory_gb=g.get("memory_gb") or (table.memory_gb if table is not None else 80),
        node=node,
        instances=tuple(instances),
        mig=table,
    )


def declared_inventory(gpus_section: Mapping[str, Any], simulated: bool = False) -> Inventory:
    """The inventory of ``gpus.nodes`` in a validated site document's ``gpus`` section."""
    gpus: list[Gpu] = []
    for node in gpus_section["nodes"]:
        for g in node["gpus"]:
            gpus.append(_gpu_of(node["name"], g, len(gpus)))
    # Per GPU: one with a layout is static (Gpu.strategy), the others follow the site.
    strategy = MigStrategy(gpus_section["mig_strategy"])
    return Inventory(gpus=tuple(gpus), strategy=strategy, simulated=simulated, source="declared")


def layout_plan(gpus_section: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per node: the GPU instances to create, in a safe order (largest first, since a
    larger instance may need its slots before smaller ones fragment them)."""
    plan: dict[str, list[dict[str, Any]]] = {}
    for node in gpus_section["nodes"]:
        steps = []
        for g in node["gpus"]:
            table = declared_table(g)

            def size(inst: Mapping[str, Any], table: MigTable | None = table) -> int:
                profile = table.profile(inst["profile"]) if table is not None else None
                return profile.memory_slots if profile is not None else 0

            layout = sorted(g.get("layout", []), key=lambda i: (-size(i), i["start"]))
            for inst in layout:
                steps.append(
                    {"gpu": g["index"], "profile": inst["profile"], "start": inst["start"]}
                )
        plan[node["name"]] = steps
    return plan
