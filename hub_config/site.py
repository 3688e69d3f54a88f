"""Load a site file: built-in defaults < site file < SANDBOX_* environment knobs, then
validate against the schema. The defaults are never mutated; every load validates."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from hub_config.ports import internal_address, is_loopback
from spawners.core.layers import deep_merge
from spawners.core.policy import PolicyError, Teams, min_slice_refusal, teams_from_site

HERE = Path(__file__).resolve().parent
SCHEMA_PATH = HERE / "schema.yaml"
DEFAULTS_PATH = HERE / "defaults.yaml"
EMBEDDED_SITE = HERE / "sites" / "embedded.yaml"


class SiteError(ValueError):
    """A site file or knob that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Site:
    """A validated site: the merged document plus where it came from."""

    doc: Mapping[str, Any]
    path: Path

    def __getitem__(self, key: str) -> Any:
        return self.doc[key]


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise SiteError(f"cannot read site file {path}: {e.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SiteError(f"site file {path}{where}: not valid YAML") from None


def _env_layer(env: Mapping[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    if "SANDBOX_PORT" in env:
        layer.setdefault("hub", {})["port"] = _int_knob(env, "SANDBOX_PORT", 1, 65535)
    if "SANDBOX_SIMULATED_GPUS" in env:
        layer.setdefault("gpus", {})["simulated_count"] = _int_knob(
            env, "SANDBOX_SIMULATED_GPUS", 0, 4096
        )
    return layer


def _int_knob(env: Mapping[str, str], name: str, low: int, high: int) -> int:
    raw = env[name].strip()
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise SiteError(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _explain(error: jsonschema.ValidationError) -> str:
    where = _where(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = (
            [k for k in error.instance if k not in allowed]
            if isinstance(error.instance, Mapping)
            else []
        )
        pattern_keys = error.schema.get("patternProperties")
        hints = []
        for key in extra:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"unknown key {key!r}"
            if close:
                hint += f" (did you mean {close[0]!r}?)"
            elif allowed:
                hint += f" (allowed here: {', '.join(allowed)})"
            elif pattern_keys:
                hint += f" (allowed: {', '.join(pattern_keys)})"
            hints.append(hint)
        return f"at {where}: " + "; ".join(hints)
    return f"at {where}: {error.message}"


def _schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


MOVED_KEYS = {
    ("slurm", "hub_connect_ip"): "hub.internal_url",
    ("docker", "hub_connect_ip"): "hub.internal_url",
}
"""Settings that moved: (backend section, key) -> where it lives now."""


def _moved(doc: Any, source: str) -> None:
    backend = doc.get("hub", {}).get("backend", {}) if isinstance(doc, Mapping) else {}
    for (section, key), now in MOVED_KEYS.items():
        part = backend.get(section) if isinstance(backend, Mapping) else None
        if isinstance(part, Mapping) and key in part:
            raise SiteError(
                f"site file {source}: hub.backend.{section}.{key} is now {now}, one address "
                f"for every backend (e.g. {now}: http://{part[key]})"
            )


def validate(doc: Any, source: str) -> None:
    """Raise SiteError naming every problem in ``doc`` (at most five)."""
    _moved(doc, source)
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = "\n  ".join(_explain(e) for e in errors[:5])
        raise SiteError(f"site file {source} is not valid:\n  {lines}")
    _check_semantics(doc, source)


def _check_semantics(doc: Mapping[str, Any], source: str) -> None:
    # What a schema cannot say: a MIG GPU's model is one the catalogue knows, and its
    # layout uses that model's profiles at valid, free start slots.
    from spawners.inventory.declared import layout_errors

    for error in layout_errors(doc["gpus"])[:1]:
        raise SiteError(f"site file {source}: {error}")
    if doc["gpus"]["nvml_create_instances"] and doc["gpus"]["mig_strategy"] != "dynamic":
        raise SiteError(
            f"site file {source}: gpus.nvml_create_instances needs gpus.mig_strategy: dynamic"
        )
    images = doc["images"]
    if doc["defaults"]["image"] not in images:
        raise SiteError(
            f"site file {source}: defaults.image {doc['defaults']['image']!r} is not in images"
        )
    image, slice_name = doc["defaults"]["image"], doc["defaults"]["slice"]
    # An empty request must be one the hub starts.
    if min_slice_refusal(image, images[image].get("min_slice"), slice_name):
        raise SiteError(
            f"site file {source}: defaults.slice {slice_name} is smaller than the "
            f"min_slice {images[image]['min_slice']} of defaults.image {image!r}"
        )
    # The backends' maps from an image to what they run (Slurm runner, Docker tag, pod image).
    for kind in ("slurm", "docker", "kubernetes"):
        strays = [name for name in doc["hub"]["backend"][kind]["images"] if name not in images]
        if strays:
            raise SiteError(
                f"site file {source}: hub.backend.{kind}.images maps {', '.join(strays)}, "
                f"not among the site's images ({', '.join(images)})"
            )
    # Teams and login: groups owned by one team, instructors only in courses, etc.
    check_access(doc, source)
    _check_internal_url(doc, source)


def site_teams(doc: Mapping[str, Any]) -> Teams:
    return teams_from_site(doc["teams"], site_images=tuple(doc["images"]))


def check_access(doc: Mapping[str, Any], source: str) -> None:
    """Semantic checks of teams and login that the schema cannot express."""
    try:
        teams = site_teams(doc)
    except PolicyError as e:
        raise SiteError(f"site file {source}: {e}") from None
    auth = doc["hub"]["authenticator"]
    backend = doc["hub"]["backend"]["kind"]
    if auth["kind"] == "shared-password" and (backend in ("local", "slurm") or teams):
        why = (
            f"the {backend} backend runs servers as real unix accounts"
            if not teams
            else ("the site has teams (or courses), whose members need logins of their own")
        )
        raise SiteError(
            f"site file {source}: hub.authenticator.kind shared-password lets anyone who "
            f"knows the one password log in as any user, and {why}: use kind native "
            "(personal accounts) or oidc"
        )
    if auth["kind"] in ("oidc", "github") and not teams:
        raise SiteError(
            f"site file {source}: hub.authenticator.kind {auth['kind']} lets in the members "
            "of the teams' groups only: declare at least one team under teams"
        )


def remote_servers(backend: Mapping[str, Any]) -> str | None:
    """Why this backend's servers are not on the hub's host (None: they are)."""
    kind = backend["kind"]
    if kind == "docker" and backend["docker"]["network"] != "host":
        return f"docker containers on the {backend['docker']['network']!r} network"
    if kind == "slurm":
        addresses = backend["slurm"]["node_addresses"]
        if not addresses or not all(is_loopback(a) for a in addresses.values()):
            return "Slurm jobs on other nodes (hub.backend.slurm.node_addresses not all loopback)"
    if kind == "kubernetes":
        return "Kubernetes pods"
    return None


def _check_internal_url(doc: Mapping[str, Any], source: str) -> None:
    raw = doc["hub"]["internal_url"]
    try:
        address = internal_address(raw)
    except ValueError as e:
        raise SiteError(f"site file {source}: {e}") from None
    remote = remote_servers(doc["hub"]["backend"])
    if remote and address.loopback:
        given = f"is {raw!r}" if raw else "is not set (127.0.0.1)"
        raise SiteError(
            f"site file {source}: hub.internal_url {given}, but servers that are {remote} "
            "cannot reach the hub at a loopback address: their live GPU-hours, quota "
            "warnings and course labs would silently stop. Set hub.internal_url to the hub's address on "
            "the servers' network, e.g. http://172.17.0.1 (docker0), http://10.0.0.5 (the "
            "cluster network) or http://hub (a Kubernetes Service); see docs/networking.md"
        )


def load_site(path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> Site:
    """The validated site: ``path``, else SANDBOX_SITE, else the embedded default."""
    env = os.environ if env is None else env
    site_path = Path(path or env.get("SANDBOX_SITE") or EMBEDDED_SITE)
    defaults = _read_yaml(DEFAULTS_PATH)
    site_doc = _read_yaml(site_path)
    if site_doc is None:
        site_doc = {}
    if not isinstance(site_doc, Mapping):
        raise SiteError(f"site file {site_path}: the top level must be a mapping of sections")
    merged = deep_merge(deep_merge(defaults, site_doc), _env_layer(env))
    validate(merged, str(site_path))
    return Site(doc=merged, path=site_path)
