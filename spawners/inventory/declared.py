"""GPUs declared in the site file (clusters, and the layout the mig_layout role applies).

A declared MIG layout becomes static instances; their UUIDs are only known on the node,
so the declared inventory names them by node, GPU and slot until an engine reports the
real ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spawners.core.model import Gpu, GpuMode, Inventory, MigInstance, MigStrategy
from spawners.inventory.simulated import stable_gpu_uuid


def declared_instance_uuid(node: str, index: int, profile: str, start: int) -> str:
    return f"MIG-declared-{node}-{index}-{profile}-{start}"


def declared_inventory(gpus_section: Mapping[str, Any], simulated: bool = False) -> Inventory:
    """The inventory of ``gpus.nodes`` in a validated site document's ``gpus`` section."""
    gpus: list[Gpu] = []
    has_layout = False
    for node in gpus_section.get("nodes", []):
        for g in node["gpus"]:
            layout = g.get("layout", [])
            has_layout = has_layout or bool(layout)
            instances = tuple(
                MigInstance(
                    i["profile"],
                    i["start"],
                    declared_instance_uuid(node["name"], g["index"], i["profile"], i["start"]),
                )
                for i in sorted(layout, key=lambda i: i["start"])
            )
            gpus.append(
                Gpu(
                    index=len(gpus),
                    uuid=g.get("uuid") or stable_gpu_uuid(g["index"], node["name"]),
                    model=g.get("model", "NVIDIA H100 80GB HBM3"),
                    mode=GpuMode(g["mode"]),
                    memory_gb=g.get("memory_gb", 80),
                    node=node["name"],
                    instances=instances,
                )
            )
    strategy = MigStrategy(gpus_section.get("mig_strategy", "dynamic"))
    if has_layout:
        strategy = MigStrategy.STATIC
    return Inventory(gpus=tuple(gpus), strategy=strategy, simulated=simulated, source="declared")


def layout_plan(gpus_section: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per node: the GPU instances to create, in a safe order (largest first, since a
    larger instance may need its slots before smaller ones fragment them)."""
    from spawners.core.profiles import slice_profile

    plan: dict[str, list[dict[str, Any]]] = {}
    for node in gpus_section.get("nodes", []):
        steps = []
        for g in node["gpus"]:
            layout = sorted(
                g.get("layout", []),
                key=lambda i: (-slice_profile(i["profile"]).memory_slots, i["start"]),
            )
            for inst in layout:
                steps.append(
                    {"gpu": g["index"], "profile": inst["profile"], "start": inst["start"]}
                )
        plan[node["name"]] = steps
    return plan
