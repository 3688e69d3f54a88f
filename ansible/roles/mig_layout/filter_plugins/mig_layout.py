"""Filters that turn the site file's ``gpus.nodes`` into the mig_layout role's plan.

The role reads the same site file the hub loads; ``mig_layout_node`` picks one node and
returns what the node must look like: per GPU its mode, its model (``model`` in the
site file: the profiles follow the GPU model, an H100 80GB when not given) and, for MIG
GPUs, the GPU instances to create in a safe order (largest first, then by start slot,
the order of the hub's ``spawners.inventory.declared.layout_plan``). tests/ansible
proves the two agree.

Self-contained on purpose (stdlib only): it runs on the Ansible controller, which need
not have the project installed. It re-checks the placement rules so a bad layout fails
here, before any node is touched.
"""

from __future__ import annotations

import re
from typing import Any

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # imported outside Ansible (unit tests)
    AnsibleFilterError = ValueError  # type: ignore[misc,assignment]

MEMORY_SLOTS = 8
COMPUTE_SLICES = 7

# The GPU models' GPU-instance profiles (NVIDIA MIG User Guide, "Supported MIG Profiles";
# `nvidia-smi mig -lgip` / `-lgipp`), as in the hub's spawners/core/gpu_models.py:
# every model has the same placement classes (nvidia-smi profile id for
# `nvidia-smi mig -cgi <id>:<start>`, memory slots, compute slices, valid start slots)
# under its own names. tests/ansible/test_mig_layout_agrees.py keeps the two equal.
_CLASSES = (
    (19, 1, 1, (0, 1, 2, 3, 4, 5, 6)),
    (15, 2, 1, (0, 2, 4, 6)),
    (14, 2, 2, (0, 2, 4)),
    (9, 4, 3, (0, 4)),
    (5, 4, 4, (0,)),
    (0, 8, 7, (0,)),
)


def _table(*names: str) -> dict[str, tuple[int, int, int, tuple[int, ...]]]:
    return dict(zip(names, _CLASSES, strict=True))


# model key -> (label, memory GB, {profile: (id, slots, compute, starts)}, {alias: profile})
MODELS: dict[str, tuple[str, int, dict[str, tuple[int, int, int, tuple[int, ...]]], dict]] = {
    "h100-80gb": (
        "H100 80GB",
        80,
        _table("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
        {},
    ),
    "h100-94gb": (
        "H100 94GB",
        94,
        _table("1g.12gb", "1g.24gb", "2g.24gb", "3g.47gb", "4g.47gb", "7g.94gb"),
        {},
    ),
    "h200-141gb": (
        "H200 141GB",
        141,
        _table("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"),
        {},
    ),
    "a100-80gb": (
        "A100 80GB",
        80,
        _table("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
        {"3g.39gb": "3g.40gb"},  # R535/R545 drivers (NVIDIA/mig-parted issue 31)
    ),
    "a100-40gb": (
        "A100 40GB",
        40,
        _table("1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"),
        {},
    ),
}
DEFAULT_MODEL = "h100-80gb"
# model key -> the NVML names of its GPUs, its own (SXM) first: what Slurm's
# AutoDetect=nvml names gres types after (see slurm_gres_type).
DEVICE_NAMES: dict[str, tuple[str, ...]] = {
    "h100-80gb": ("NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe"),
    "h100-94gb": ("NVIDIA H100 NVL",),
    "h200-141gb": ("NVIDIA H200", "NVIDIA H200 NVL"),
    "a100-80gb": ("NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe"),
    "a100-40gb": ("NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB", "A100-SXM4-40GB"),
}
H100_80GB_PROFILES = MODELS[DEFAULT_MODEL][2]
"""The H100 80GB table (a GPU whose model is not given)."""

_WORDS = re.compile(r"[A-Z0-9]+")


def model_for_device(name: str, memory_mib: int | None = None) -> str | None:
    """The model key of a GPU named as the site file or NVML names it (the hub's
    spawners.core.gpu_models.model_for_device, which the tests compare it with)."""
    text = name.strip()
    if text.lower() in MODELS:
        return text.lower()
    for key, (label, _gb, _profiles, _aliases) in MODELS.items():
        if text.lower() == label.lower():
            return key
    raw = text.upper()
    words = set(_WORDS.findall(raw))
    gb = {int(n) for n in re.findall(r"(\d{2,3})\s*GB", raw)}
    if "GH200" in words or "H20" in words:
        return None
    if "H200" in words:
        return "h200-141gb"
    if "H100" in words or "H800" in words:
        if 96 in gb:
            return None
        if "NVL" in words or 94 in gb:
            return "h100-94gb"
        if not gb and memory_mib is not None and memory_mib > 88 * 1024:
            return "h100-94gb"
        return "h100-80gb"
    if "A100" in words or "A800" in words:
        if 40 in gb:
            return "a100-40gb"
        if 80 in gb:
            return "a100-80gb"
        if memory_mib is not None:
            return "a100-40gb" if memory_mib < 60 * 1024 else "a100-80gb"
        return "a100-40gb"
    return None


def device_name_of(model_name: str) -> str:
    """The NVML name of a GPU the site file calls ``model_name`` (the hub's
    spawners.core.gpu_models.device_name_of)."""
    text = model_name.strip()
    model = model_for_device(text)
    if model is None:
        return text
    return text if text in DEVICE_NAMES[model] else DEVICE_NAMES[model][0]


def slurm_gres_type(device_name: str, profile: str | None = None) -> str:
    """The gres type Slurm's AutoDetect=nvml gives a GPU (``nvidia_h100_80gb_hbm3``)
    or a MIG device of it (``nvidia_h100_80gb_hbm3_1g.10gb``, ``nvidia_a100_1g.5gb``):
    the hub's spawners.core.gpu_models.slurm_gres_type."""
    name = device_name.strip().lower().replace(" ", "_")
    if profile is None:
        return name
    return f"{name.split('-', 1)[0]}_{profile}"


def _fail(node: str, gpu: Any, why: str) -> AnsibleFilterError:
    return AnsibleFilterError(f"site file: node {node} GPU {gpu}: {why}")


def _model_of(node: str, gpu: dict[str, Any]) -> str | None:
    memory = gpu.get("memory_gb")
    return model_for_device(
        str(gpu.get("model") or "NVIDIA H100 80GB HBM3"),
        memory * 1024 if isinstance(memory, int) else None,
    )


def _device_of(gpu: dict[str, Any]) -> str:
    return device_name_of(str(gpu.get("model") or "NVIDIA H100 80GB HBM3"))


def _instances(node: str, gpu: dict[str, Any], model: str | None) -> list[dict[str, Any]]:
    index = gpu.get("index")
    layout = gpu.get("layout") or []
    if layout and gpu.get("mode") != "mig":
        raise _fail(node, index, "a layout needs mode: mig")
    if model is None:
        if gpu.get("mode") == "mig":
            raise _fail(
                node,
                index,
                f"unknown GPU model {gpu.get('model')!r} for MIG (known: {', '.join(MODELS)})",
            )
        return []
    label, _gb, profiles, aliases = MODELS[model]
    mask = compute = 0
    for inst in sorted(layout, key=lambda i: i.get("start", -1)):
        profile, start = inst.get("profile"), inst.get("start")
        if profile not in profiles:
            raise _fail(
                node,
                index,
                f"{profile} is not a MIG profile of the {label} "
                f"(its profiles: {', '.join(profiles)})",
            )
        _, slots, slices, starts = profiles[profile]
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
    ordered = sorted(layout, key=lambda i: (-profiles[i["profile"]][1], i["start"]))
    return [
        {
            "profile": i["profile"],
            "profile_id": profiles[i["profile"]][0],
            "start": i["start"],
            # The names nvidia-smi may print for it (drivers drift: 3g.39gb).
            "names": [i["profile"], *sorted(a for a, p in aliases.items() if p == i["profile"])],
            "slurm_type": slurm_gres_type(_device_of(gpu), i["profile"]),
        }
        for i in ordered
    ]


def mig_layout_node(site: dict[str, Any], node: str) -> dict[str, Any]:
    """The plan for ``node``: ``{"node", "gpus": [{"index", "mode", "uuid", "model",
    "slurm_type", "instances"}]}`` (each instance with its ``slurm_type`` too)."""
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
        model = _model_of(node, gpu)
        gpus.append(
            {
                "index": index,
                "mode": gpu.get("mode"),
                "uuid": gpu.get("uuid", ""),
                "model": model or "",
                # What Slurm's AutoDetect=nvml would call a whole GPU of this model.
                "slurm_type": slurm_gres_type(_device_of(gpu)),
                "instances": _instances(node, gpu, model),
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
