"""slurm.conf's Gres= for one node, from the site file the hub reads.

Counts what the site declares on the node: one gres per MIG instance, one per whole GPU,
and 100 `mps` units per MPS GPU (Slurm's MPS gres is a percentage). A GPU's gres type
is the one Slurm's AutoDetect=nvml gives it on its model (`nvidia_h200_1g.18gb`, a
whole H100 80GB `nvidia_h100_80gb_hbm3`), the naming the mig_layout role's filter
writes once for the plan and gres.conf; `slurm_gres_types` (slice name -> type)
replaces it on every model. The node's gres.conf is written from the live devices by
sandbox-mig-layout with the same types.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from typing import Any

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # imported outside Ansible (unit tests)
    AnsibleFilterError = ValueError  # type: ignore[misc,assignment]


def _mig_layout_filter() -> Any:
    # The sibling role's filter holds the GPU catalogue's copy; a role's filter plugins
    # are not importable by name from another role.
    path = Path(__file__).resolve().parents[2] / "mig_layout" / "filter_plugins" / "mig_layout.py"
    spec = importlib.util.spec_from_file_location("sandbox_mig_layout_filter", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_CATALOGUE = _mig_layout_filter()


def slurm_node_gres(site: dict[str, Any], node: str, types: dict[str, str] | None = None) -> str:
    """``gpu:nvidia_h100_80gb_hbm3_3g.40gb:1,gpu:nvidia_h200:1,mps:100`` for ``node``;
    "" when it has no GPUs."""
    types = types or {}
    nodes = [n for n in (site.get("gpus") or {}).get("nodes") or [] if n.get("name") == node]
    gpus: Counter[str] = Counter()
    mps = 0
    for gpu in nodes[0].get("gpus") or [] if nodes else []:
        if gpu.get("mode") == "mps":
            mps += 100
            continue
        device = _CATALOGUE.device_name_of(str(gpu.get("model") or "NVIDIA H100 80GB HBM3"))
        if gpu.get("mode") == "mig":
            slices = [(i["profile"], i["profile"]) for i in gpu.get("layout") or []]
        else:
            slices = [("gpu", None)]
        for name, profile in slices:
            kind = types.get(name) or _CATALOGUE.slurm_gres_type(device, profile)
            if not kind:
                raise AnsibleFilterError(f"no Slurm gres type for {name!r}")
            gpus[kind] += 1
    parts = [f"gpu:{t}:{n}" for t, n in sorted(gpus.items())]
    if mps:
        parts.append(f"mps:{mps}")
    return ",".join(parts)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"slurm_node_gres": slurm_node_gres}
