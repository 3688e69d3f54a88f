#!/usr/bin/python3
"""Bring a GPU node's MIG state to the plan that the mig_layout role derived from the
site file. Installed as /usr/local/sbin/sandbox-mig-layout; run by Ansible and, at boot,
by sandbox-mig-layout.service (GPU instances do not survive a reboot).

  sandbox-mig-layout status PLAN          exit 0: in sync, 2: differs (prints the diff)
  sandbox-mig-layout apply PLAN           make it so; refuses (exit 3) if a GPU to change
                                          runs processes; prints {"changed": ...}
  sandbox-mig-layout gres-conf PLAN --types TYPES --out FILE
                                          Slurm gres.conf from the live instances

Only nvidia-smi and the standard library: it runs on the node's system Python.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

NVIDIA_SMI = "nvidia-smi"
MIG_MINORS = Path("/proc/driver/nvidia-caps/mig-minors")
CAPS_DIR = Path("/dev/nvidia-caps")

# `nvidia-smi mig -lgi` rows: | GPU  Name  Profile-ID  Instance-ID  Start:Size |
GI_ROW = re.compile(r"^\|\s*(\d+)\s+MIG\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+):(\d+)\s*\|")
# `nvidia-smi mig -lci` rows: | GPU  GI-ID  Name  Profile-ID  CI-ID  Start:Size |
CI_ROW = re.compile(r"^\|\s*(\d+)\s+(\d+)\s+MIG\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+):(\d+)\s*\|")
NONE_FOUND = re.compile(r"No (GPU|compute) instances? found", re.IGNORECASE)
# Media-engine and graphics variants of a profile (1g.10gb+me is a 1g.10gb).
VARIANT = re.compile(r"(\+me\.all|\+me|-me|\+gfx)$")


class Refused(Exception):
    """The node cannot be changed safely now; the message says why."""


def smi(*args: str, ok_if_none: bool = False) -> str:
    proc = subprocess.run([NVIDIA_SMI, *args], capture_output=True, text=True, check=False)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 and not (ok_if_none and NONE_FOUND.search(out)):
        raise RuntimeError(f"nvidia-smi {' '.join(args)} failed ({proc.returncode}): {out.strip()}")
    return proc.stdout


def mig_mode(index: int) -> tuple[str, str]:
    out = smi(
        "-i", str(index), "--query-gpu=mig.mode.current,mig.mode.pending", "--format=csv,noheader"
    )
    current, _, pending = out.strip().partition(",")
    return current.strip(), pending.strip()


def gpu_instances(index: int) -> list[dict]:
    out = smi("mig", "-i", str(index), "-lgi", ok_if_none=True)
    rows = (GI_ROW.match(line) for line in out.splitlines())
    return [
        {"profile_id": int(m[3]), "gi": int(m[4]), "start": int(m[5]), "name": m[2]}
        for m in rows
        if m and int(m[1]) == index
    ]


def compute_instances(index: int) -> list[dict]:
    out = smi("mig", "-i", str(index), "-lci", ok_if_none=True)
    rows = (CI_ROW.match(line) for line in out.splitlines())
    return [{"gi": int(m[2]), "ci": int(m[5])} for m in rows if m and int(m[1]) == index]


def processes(index: int) -> list[str]:
    out = smi("-i", str(index), "--query-compute-apps=pid,process_name", "--format=csv,noheader")
    return [line.strip() for line in out.splitlines() if line.strip()]


def gpu_diff(gpu: dict) -> list[str]:
    """What differs between the plan for one GPU and the device; empty when in sync."""
    index = gpu["index"]
    current, pending = mig_mode(index)
    if gpu["mode"] != "mig":
        return [f"GPU {index}: MIG mode {current}, want Disabled"] if current == "Enabled" else []
    if current != "Enabled":
        return [f"GPU {index}: MIG mode {current} (pending {pending}), want Enabled"]
    instances = gpu_instances(index)
    have = sorted((i["profile_id"], i["start"]) for i in instances)
    want = sorted((i["profile_id"], i["start"]) for i in gpu["instances"])
    diff = []
    if have != want:
        diff.append(f"GPU {index}: GPU instances (profile id, start) {have}, want {want}")
    else:
        # Profile ids are the same on every model: the names say whether this GPU is the
        # model the plan was made for (a 1g.10gb where the plan wants a 1g.18gb is not).
        names = {(i["profile_id"], i["start"]): i for i in gpu["instances"]}
        for live in instances:
            planned = names[(live["profile_id"], live["start"])]
            accepted = planned.get("names") or [planned["profile"]]
            if VARIANT.sub("", live["name"]) not in accepted:
                diff.append(
                    f"GPU {index}: the instance at slot {live['start']} is a {live['name']}, "
                    f"the plan wants {planned['profile']}: is GPU {index} the "
                    f"{gpu.get('model') or 'model'} the site file declares?"
                )
    gis = {i["gi"] for i in instances}
    with_ci = {c["gi"] for c in compute_instances(index)}
    if gis - with_ci:
        diff.append(f"GPU {index}: GPU instances {sorted(gis - with_ci)} have no compute instance")
    return diff


def set_mig_mode(index: int, enabled: bool) -> None:
    smi("-i", str(index), "-mig", "1" if enabled else "0")
    current, _ = mig_mode(index)
    if (current == "Enabled") != enabled:
        # The mode is pending until the GPU resets; an idle GPU can be reset in place.
        smi("-i", str(index), "-r")
        current, pending = mig_mode(index)
        if (current == "Enabled") != enabled:
            raise Refused(f"GPU {index}: MIG mode is pending ({pending}); reboot the node")


def clear_instances(index: int) -> None:
    if compute_instances(index):
        smi("mig", "-i", str(index), "-dci")
    if gpu_instances(index):
        smi("mig", "-i", str(index), "-dgi")


def apply_gpu(gpu: dict) -> None:
    index = gpu["index"]
    current, _ = mig_mode(index)
    if gpu["mode"] != "mig":
        if current == "Enabled":
            clear_instances(index)
        set_mig_mode(index, enabled=False)
        return
    if current != "Enabled":
        set_mig_mode(index, enabled=True)
    clear_instances(index)
    # The plan is already in a safe order (largest first); keep it.
    for inst in gpu["instances"]:
        smi("mig", "-i", str(index), "-cgi", f"{inst['profile_id']}:{inst['start']}", "-C")


def load_plan(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def cmd_status(plan: dict) -> int:
    diff = [line for gpu in plan["gpus"] for line in gpu_diff(gpu)]
    print(json.dumps({"in_sync": not diff, "diff": diff}))
    return 0 if not diff else 2


def cmd_apply(plan: dict) -> int:
    todo = [gpu for gpu in plan["gpus"] if gpu_diff(gpu)]
    # Refuse before touching anything, so a node is never left half repartitioned.
    busy = {gpu["index"]: processes(gpu["index"]) for gpu in todo}
    busy = {index: procs for index, procs in busy.items() if procs}
    if busy:
        held = "; ".join(f"GPU {i}: {', '.join(p)}" for i, p in sorted(busy.items()))
        raise Refused(
            f"refusing to repartition GPUs with running processes ({held}); "
            "drain the node (stop servers, Slurm jobs, MPS daemons) and run again"
        )
    for gpu in todo:
        apply_gpu(gpu)
    left = [line for gpu in todo for line in gpu_diff(gpu)]
    if left:
        raise RuntimeError("layout still differs after applying: " + "; ".join(left))
    print(json.dumps({"changed": bool(todo), "gpus": [g["index"] for g in todo]}))
    return 0


def read_minors(path: Path) -> dict[str, int]:
    minors = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, _, minor = line.strip().rpartition(" ")
        if name and minor.isdigit():
            minors[name] = int(minor)
    return minors


def caps_major() -> int | None:
    for line in Path("/proc/devices").read_text(encoding="utf-8").splitlines():
        number, _, name = line.strip().partition(" ")
        if name == "nvidia-caps" and number.isdigit():
            return int(number)
    return None


def ensure_cap_device(minor: int, caps_dir: Path) -> Path:
    """/dev/nvidia-caps/nvidia-cap<minor>; created if missing (Slurm drains a node whose
    gres files do not exist)."""
    path = caps_dir / f"nvidia-cap{minor}"
    if not path.exists():
        major = caps_major()
        if major is None:
            raise RuntimeError("no nvidia-caps device in /proc/devices; is the driver loaded?")
        caps_dir.mkdir(mode=0o755, exist_ok=True)
        os.mknod(path, stat.S_IFCHR | 0o444, os.makedev(major, minor))
    return path


def gres_lines(plan: dict, types: dict[str, str], minors: dict[str, int], caps_dir: Path):
    node = plan["node"]
    for gpu in plan["gpus"]:
        index = gpu["index"]
        dev = f"/dev/nvidia{index}"
        if gpu["mode"] == "whole":
            yield f"NodeName={node} Name=gpu Type={types.get('gpu') or gpu['slurm_type']} File={dev}"
        elif gpu["mode"] == "mps":
            yield f"NodeName={node} Name=mps Count=100 File={dev}"
        else:
            by_gi = {i["gi"]: i for i in gpu_instances(index)}
            names = {i["profile_id"]: i["profile"] for i in gpu["instances"]}
            # The site's type for a slice, else Slurm's AutoDetect=nvml name on this model.
            kinds = {
                i["profile"]: types.get(i["profile"]) or i["slurm_type"] for i in gpu["instances"]
            }
            for ci in sorted(compute_instances(index), key=lambda c: by_gi[c["gi"]]["start"]):
                gi = by_gi[ci["gi"]]
                profile = names[gi["profile_id"]]
                files = [dev] + [
                    str(ensure_cap_device(minors[key], caps_dir))
                    for key in (
                        f"gpu{index}/gi{ci['gi']}/access",
                        f"gpu{index}/gi{ci['gi']}/ci{ci['ci']}/access",
                    )
                ]
                yield (
                    f"NodeName={node} Name=gpu Type={kinds[profile]} "
                    f"MultipleFiles={','.join(files)}"
                )


def cmd_gres_conf(plan: dict, types_path: str, out: str, minors_path: Path, caps_dir: Path) -> int:
    diff = [line for gpu in plan["gpus"] for line in gpu_diff(gpu)]
    if diff:
        # Advertising gres the node does not have would hand users the wrong slice.
        raise Refused("MIG layout differs from the plan: " + "; ".join(diff))
    types = load_plan(types_path)
    needs_minors = any(g["mode"] == "mig" for g in plan["gpus"])
    minors = read_minors(minors_path) if needs_minors else {}
    text = "# Generated by sandbox-mig-layout from the live MIG instances; do not edit.\n"
    text += "\n".join(gres_lines(plan, types, minors, caps_dir)) + "\n"
    target = Path(out)
    if target.exists() and target.read_text(encoding="utf-8") == text:
        print(json.dumps({"changed": False}))
        return 0
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o644)
    tmp.replace(target)
    print(json.dumps({"changed": True}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sandbox-mig-layout", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("status", "apply", "gres-conf"):
        p = sub.add_parser(name)
        p.add_argument("plan", help="the node's plan (JSON written by the mig_layout role)")
        if name == "gres-conf":
            p.add_argument("--types", required=True, help="JSON: slice name -> Slurm gres type")
            p.add_argument("--out", required=True, help="gres.conf to write")
            p.add_argument("--mig-minors", type=Path, default=MIG_MINORS)
            p.add_argument("--caps-dir", type=Path, default=CAPS_DIR)
    args = parser.parse_args(argv)
    try:
        plan = load_plan(args.plan)
        if args.command == "status":
            return cmd_status(plan)
        if args.command == "apply":
            return cmd_apply(plan)
        return cmd_gres_conf(plan, args.types, args.out, args.mig_minors, args.caps_dir)
    except Refused as e:
        print(f"sandbox-mig-layout: {e}", file=sys.stderr)
        return 3
    except (OSError, RuntimeError, KeyError, ValueError) as e:
        print(f"sandbox-mig-layout: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
