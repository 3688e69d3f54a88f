"""slurm.conf's Gres= for one node, from the site file the hub reads.

Counts what the site declares on the node: one gres per MIG instance (by profile), one
per whole GPU, and 100 `mps` units per MPS GPU (Slurm's MPS gres is a percentage).
The node's gres.conf is written from the live devices by sandbox-mig-layout.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # imported outside Ansible (unit tests)
    AnsibleFilterError = ValueError  # type: ignore[misc,assignment]


def slurm_node_gres(site: dict[str, Any], node: str, types: dict[str, str]) -> str:
    """``gpu:3g.40gb:1,gpu:h100:1,mps:100`` for ``node``; "" when it has no GPUs."""
    nodes = [n for n in (site.get("gpus") or {}).get("nodes") or [] if n.get("name") == node]
    gpus: Counter[str] = Counter()
    mps = 0
    for gpu in nodes[0].get("gpus") or [] if nodes else []:
        if gpu.get("mode") == "mps":
            mps += 100
            continue
        slices = (
            [i["profile"] for i in gpu.get("layout") or []] if gpu.get("mode") == "mig" else ["gpu"]
        )
        for name in slices:
            if name not in types:
                raise AnsibleFilterError(f"slurm_gres_types has no Slurm type for {name!r}")
            gpus[types[name]] += 1
    parts = [f"gpu:{t}:{n}" for t, n in sorted(gpus.items())]
    if mps:
        parts.append(f"mps:{mps}")
    return ",".join(parts)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"slurm_node_gres": slurm_node_gres}
