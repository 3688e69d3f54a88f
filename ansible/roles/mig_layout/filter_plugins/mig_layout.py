"""Filters that turn the site file's ``gpus.nodes`` into the mig_layout role's plan.

The role reads the same site file the hub loads; ``mig_layout_node`` picks one node and
returns what the node must look like: per GPU its mode and, for MIG GPUs, the GPU
instances to create in a safe order (largest first, then by start slot, the order of the
hub's ``spawners.inventory.declared.layout_plan``). tests/ansible proves the two agree.

Self-contained on purpose (stdlib only): it runs on the Ansible controller, which need
not have the project installed. It re-checks the placement rules so a bad layout fails
here, before any node is touched.
"""

from __future__ import annotations

from typing import Any

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # imported outside Ansible (unit tests)
    AnsibleFilterError = ValueError  # type: ignore[misc,assignment]

MEMORY_SLOTS = 8
COMPUTE_SLICES = 7

# H100 80GB GPU-instance profiles (NVIDIA MIG User Guide; `nvidia-smi mig -lgip`):
# name -> (profile id for `nvidia-smi mig -cgi <id>:<start>`, memory slots, compute
# slices, valid start slots).
H100_80GB_PROFILES: dict[str, tuple[int, int, int, tuple[int, ...]]] = {
    "1g.10gb": (19, 1, 1, (0, 1, 2, 3, 4, 5, 6)),
    "1g.20gb": (15, 2, 1, (0, 2, 4, 6)),
    "2g.20gb": (14, 2, 2, (0, 2, 4)),
    "3g.40gb": (9, 4, 3, (0, 4)),
    "4g.40gb": (5, 4, 4, (0,)),
    "7g.80gb": (0, 8, 7, (0,)),
}


def _fail(node: str, gpu: Any, why: str) -> AnsibleFilterError:
    return AnsibleFilterError(f"site file: node {node} GPU {gpu}: {why}")


def _instances(node: str, gpu: dict[str, Any]) -> list[dict[str, Any]]:
    index = gpu.get("index")
    layout = gpu.get("layout") or []
    if layout and gpu.get("mode") != "mig":
        raise _fail(node, index, "a layout needs mode: mig")
    mask = compute = 0
    for inst in sorted(layout, key=lambda i: i.get("start", -1)):
        profile, start = inst.get("profile"), inst.get("start")
        if profile not in H100_80GB_PROFILES:
            raise _fail(node, index, f"unknown MIG profile {profile!r}")
        _, slots, slices, starts = H100_80GB_PROFILES[profile]
        want = ((1 << slots) - 1) << start if isinstance(start, int) else 0
        if start not in starts or want & mask or compute + slices > COMPUTE_SLICES:
            raise _fail(
                node,
                index,
                f"{profile} cannot start at slot {start} (valid starts {list(starts)}, "
                "no overlap, at most 7 compute slices)",
            )
        mask |= want
        compute += slices
    # Largest first: a big instance takes its aligned slots before small ones could
    # fragment them; ties by start slot (the hub's layout_plan order).
    ordered = sorted(layout, key=lambda i: (-H100_80GB_PROFILES[i["profile"]][1], i["start"]))
    return [
        {
            "profile": i["profile"],
            "profile_id": H100_80GB_PROFILES[i["profile"]][0],
            "start": i["start"],
        }
        for i in ordered
    ]


def mig_layout_node(site: dict[str, Any], node: str) -> dict[str, Any]:
    """The plan for ``node``: ``{"node", "gpus": [{"index", "mode", "uuid", "instances"}]}``."""
    if not isinstance(site, dict):
        raise AnsibleFilterError("site file: the top level must be a mapping")
    nodes = (site.get("gpus") or {}).get("nodes") or []
    matches = [n for n in nodes if n.get("name") == node]
    if not matches:
        known = ", ".join(str(n.get("name")) for n in nodes) or "none"
        raise AnsibleFilterError(
            f"site file: node {node!r} is not declared in gpus.nodes (declared: {known}); "
            "the hub would not know its GPUs"
        )
    if len(matches) > 1:
        raise AnsibleFilterError(f"site file: node {node!r} is declared twice")
    gpus = []
    seen: set[int] = set()
    for gpu in matches[0].get("gpus") or []:
        index = gpu.get("index")
        if index in seen:
            raise _fail(node, index, "declared twice")
        seen.add(index)
        gpus.append(
            {
                "index": index,
                "mode": gpu.get("mode"),
                "uuid": gpu.get("uuid", ""),
                "instances": _instances(node, gpu),
            }
        )
    return {"node": node, "gpus": sorted(gpus, key=lambda g: g["index"])}


def mig_layout_steps(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan as creation steps ``[{"gpu", "profile", "start"}]``, in creation order."""
    return [
        {"gpu": g["index"], "profile": i["profile"], "start": i["start"]}
        for g in plan["gpus"]
        for i in g["instances"]
    ]


def mig_layout_gpus(plan: dict[str, Any], mode: str) -> list[int]:
    """Indexes of the plan's GPUs in ``mode`` (mig, mps or whole)."""
    return [g["index"] for g in plan["gpus"] if g["mode"] == mode]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "mig_layout_node": mig_layout_node,
            "mig_layout_steps": mig_layout_steps,
            "mig_layout_gpus": mig_layout_gpus,
        }
