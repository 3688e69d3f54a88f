"""Every key of the site file's schema is read by some code, and the code reads no key the
schema lacks.

How: each scenario site below is loaded as the hub loads it (defaults < site file, then
the schema), and its merged document is wrapped in a mapping that records every key read
through it (``[]``, ``get``, ``in``, iteration, ``items``/``values``: a copy of a section
reads each of its keys). The code that consumes a site then runs on it for real: the
hub's whole configuration (``hub_config.wiring.configure``: authentication, backend,
services, the slice context with its inventory and team policy), the courses and slices
services' ``make_app`` on a temporary data folder, the idle culler's arbiter, and the
Ansible filter that reads the same file's GPU layout. Only the OIDC provider's discovery
document (a network call) is answered by the test. Each read path is mapped onto the schema
(a named entry of a map, such as ``images.base``, becomes ``images.*``; a list index
``[]``; an object reached through a ``$ref`` to a ``$defs`` object, such as a team's
policy, is counted under that definition, so a key of ``$defs/policy`` is read once for
``teams.default_policy``, a team's and an instructor override's). The test fails for a
read path the schema has no place for, and for a schema leaf (a key whose value is a
scalar, a list or a map of scalars) that no scenario read.

The scenarios are what makes a read happen: a backend's section is only read when that
backend is configured, so every backend, authenticator, GPU source and team shape has a
scenario. A key added to the schema needs the code that reads it (and, if it sits on a
branch no scenario takes, a scenario)."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from traitlets.config import Config

from hub_config import site as site_module
from hub_config.site import EMBEDDED_SITE, Site, load_site

REPO = Path(__file__).resolve().parents[2]
Path_ = tuple[str, ...]

# --- recording reads ----------------------------------------------------------------------


class ReadMap(dict):
    """A site document (or a section of it) that records each key read through it."""

    def __init__(self, data: dict, path: Path_, seen: set[Path_]) -> None:
        super().__init__(data)
        self._path = path
        self._seen = seen

    def _read(self, key: Any) -> Any:
        self._seen.add((*self._path, str(key)))
        return wrap(dict.__getitem__(self, key), (*self._path, str(key)), self._seen)

    def __getitem__(self, key: Any) -> Any:
        self._seen.add((*self._path, str(key)))
        return self._read(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._seen.add((*self._path, str(key)))
        return self._read(key) if dict.__contains__(self, key) else default

    def __contains__(self, key: object) -> bool:
        self._seen.add((*self._path, str(key)))
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[Any]:
        for key in dict.keys(self):
            self._seen.add((*self._path, str(key)))
            yield key

    def keys(self) -> Any:
        return list(iter(self))

    def items(self) -> Any:
        return [(k, self._read(k)) for k in dict.keys(self)]

    def values(self) -> Any:
        return [self._read(k) for k in dict.keys(self)]

    def __deepcopy__(self, memo: dict) -> dict:
        # A deep copy is taken to keep, not to read: it records nothing.
        import copy

        return copy.deepcopy(unwrap(self), memo)


class ReadList(list):
    def __init__(self, data: list, path: Path_, seen: set[Path_]) -> None:
        super().__init__(wrap(v, (*path, "[]"), seen) for v in data)


def wrap(value: Any, path: Path_, seen: set[Path_]) -> Any:
    if isinstance(value, ReadMap | ReadList):
        return value
    if isinstance(value, dict):
        return ReadMap(value, path, seen)
    if isinstance(value, list):
        return ReadList(value, path, seen)
    return value


def unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: unwrap(dict.__getitem__(value, k)) for k in dict.keys(value)}
    if isinstance(value, list):
        return [unwrap(v) for v in list.__iter__(value)]
    return value


# --- the schema's leaves ----------------------------------------------------------------


SCHEMA = yaml.safe_load(site_module.SCHEMA_PATH.read_text(encoding="utf-8"))


def _resolve(node: dict) -> tuple[dict, Path_ | None]:
    """The node behind a ``$ref`` (and the definition's root when it is an object)."""
    root = None
    while "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        target = SCHEMA["$defs"][name]
        root = ("$defs", name) if _is_branch(target) else root
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node, root


def _is_branch(node: dict) -> bool:
    return bool(node.get("properties")) or _entries(node) is not None or _items(node) is not None


def _entries(node: dict) -> dict | None:
    """The schema of a map's named entries, when they are objects with keys of their own."""
    for sub in [*node.get("patternProperties", {}).values(), node.get("additionalProperties")]:
        if isinstance(sub, dict):
            sub, _ = _resolve(sub)
            if sub.get("properties"):
                return sub
    return None


def _items(node: dict) -> dict | None:
    """The schema of a list's items, when they are objects with keys of their own."""
    items = node.get("items")
    if isinstance(items, dict):
        items, _ = _resolve(items)
        if items.get("properties"):
            return items
    return None


def leaves(node: dict = SCHEMA, path: Path_ = ()) -> set[Path_]:
    node, root = _resolve(node)
    path = root or path
    out: set[Path_] = set()
    for key, sub in (node.get("properties") or {}).items():
        out |= leaves(sub, (*path, key))
    if (entry := _entries(node)) is not None:
        out |= leaves(entry, (*path, "*"))
    if (item := _items(node)) is not None:
        out |= leaves(item, (*path, "[]"))
    return out or {path}


def schema_path(concrete: Path_) -> Path_ | None:
    """Where a read path sits in the schema (None: nowhere). Below a leaf: the leaf."""
    node, path = SCHEMA, ()
    for part in concrete:
        node, root = _resolve(node)
        path = root or path
        if not _is_branch(node):
            return path
        props = node.get("properties") or {}
        if part == "[]" and _items(node) is not None:
            node, path = node["items"], (*path, "[]")
        elif part in props:
            node, path = props[part], (*path, part)
        elif (entry := _entries(node)) is not None and _named(node, part):
            node, path = entry, (*path, "*")
        else:
            return None
    node, root = _resolve(node)
    return root or path


def _named(node: dict, key: str) -> bool:
    patterns = node.get("patternProperties", {})
    return any(re.search(p, key) for p in patterns) or isinstance(
        node.get("additionalProperties"), dict
    )


# --- the scenarios ----------------------------------------------------------------------

TEAMS = """
teams:
  default_policy: {max_slice: 3g.40gb, gpu_hours: {per_member: 10}}
  acme:
    kind: startup
    description: A startup
    groups: [acme]
    policy:
      images: [base, vision]
      slices: [cpu, 1g.10gb, 2g.20gb]
      max_slice: 2g.20gb
      max_slices_per_member: 1
      max_slices_per_team: 3
      gpu_hours: {period: week, per_member: 5, per_team: 20}
      idle_timeout: 30m
      max_session: 8h
      warn_before: 5m
  ml101:
    kind: course
    groups: [ml101-students]
    instructors:
      groups: [ml101-instructors]
      policy: {max_slices_per_member: 2, max_session: 10h}
"""

OIDC = """
hub:
  authenticator:
    kind: oidc
    client_id: sandbox
    client_secret_file: {secret}
    callback_url: https://hub.example/hub/oauth_callback
    admin_groups: [ops]
    oidc:
      issuer: https://id.example
      authorize_url: https://id.example/auth
      token_url: https://id.example/token
      userdata_url: https://id.example/userinfo
"""

DECLARED = """
gpus:
  source: declared
  mig_strategy: static
  nodes:
    - name: gpu01
      gpus:
        - {index: 0, mode: mig, uuid: GPU-00000000-0000, model: h100-80gb, memory_gb: 80,
           layout: [{profile: 3g.40gb, start: 0}]}
        - {index: 1, mode: mps}
"""

SCENARIOS: dict[str, str] = {
    "embedded": "",
    "teams and oidc on slurm": TEAMS
    + OIDC
    + """
  internal_url: http://10.0.0.5
  backend:
    kind: slurm
    model_store: /shared/models
    slurm:
      partition: gpu
      account: lab
      qos: interactive
      gres_types: {1g.10gb: 1g.10gb}
      time_limit: "8:00:00"
      extra_options: [--constraint=h100]
      images: {vision: {apptainer: /shared/vision.sif}, base: {prefix: /shared/base}}
      default_prefix: /shared/base
      tutorials: /shared/tutorials
      node_addresses: {gpu01: 10.0.0.11}
"""
    + DECLARED,
    "oidc with discovery": TEAMS
    + """
hub:
  authenticator:
    kind: oidc
    client_id: sandbox
    oidc: {issuer: https://id.example}
""",
    "github on docker": TEAMS
    + """
hub:
  internal_url: http://172.17.0.1
  authenticator: {kind: github, client_id: sandbox}
  backend:
    kind: docker
    model_store: /shared/models
    docker: {images: {base: sandbox/base:1}}
gpus: {source: simulated, simulated_model: h200-141gb}
""",
    "shared password on kubernetes": """
hub:
  internal_url: http://hub
  authenticator: {kind: shared-password}
  culler: {idle_timeout: null}
  backend:
    kind: kubernetes
    kubernetes: {images: {base: registry/base:1}, gpu_product: NVIDIA-H100-80GB-HBM3,
                 model_store_claim: models}
""",
}

EXAMPLE_SITES = {
    "production example": site_module.HERE / "sites" / "production-example.yaml",
    "ansible example": REPO / "ansible" / "inventories" / "example" / "files" / "site.yaml",
}


def _scenario_file(name: str, tmp: Path) -> Path:
    if name in EXAMPLE_SITES:
        return EXAMPLE_SITES[name]
    if name == "embedded":
        return EMBEDDED_SITE
    secret = tmp / "client-secret"
    secret.write_text("s3cret\n", encoding="utf-8")
    text = SCENARIOS[name].replace("{secret}", str(secret))
    # The fragments above each name their own sections; merge them as the loader would.
    doc: dict = {}
    for part in re.split(r"\n(?=[a-z_]+:)", text.strip()):
        doc = site_module.deep_merge(doc, yaml.safe_load(part) or {})
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def _env(data: Path) -> dict[str, str]:
    return {
        "SANDBOX_DATA": str(data),
        "SANDBOX_COURSES_PORT": "18555",
        # What JupyterHub hands its services; nothing is called in this test.
        "JUPYTERHUB_API_URL": "http://127.0.0.1:18556/hub/api",
        "JUPYTERHUB_API_TOKEN": "not-used",
    }


def read_paths(name: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> set[Path_]:
    """The schema paths the hub's code reads of the scenario's site."""
    from extensions.courses import __main__ as courses
    from extensions.quota import culling
    from extensions.slices_service import __main__ as slices
    from hub_config import wiring
    from spawners.ledger.ledger import Ledger

    data = tmp / "data"
    env = _env(data)
    loaded = load_site(_scenario_file(name, tmp), env=env)
    seen: set[Path_] = set()
    site = Site(doc=wrap(dict(loaded.doc), (), seen), path=loaded.path)
    # The services load the site file the hub names (extensions/bootstrap.py): this one.
    monkeypatch.setattr("hub_config.site.load_site", lambda *a, **k: site)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # Whether this host has cgroups (root, cgroupfs) is the host's, not the site's: a
    # scenario that requires them loads the same without root (make check's tier).
    monkeypatch.setattr("hub_config.backends.cgroups_available", lambda: None)
    # The provider's discovery document is a network call at start-up: answered here.
    monkeypatch.setattr(
        "hub_config.auth.discover",
        lambda issuer, verify=True: {
            f: f"{issuer}/{f}"
            for f in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint")
        },
    )

    # What this machine allows (unwrapped, so not a read): the ledger in the temporary
    # data folder, local servers as whoever runs the test.
    hub = dict.__getitem__(site.doc, "hub")
    hub["ledger_url"] = None
    dict.__getitem__(hub["backend"], "local")["run_as"] = "auto"
    ctx = wiring.configure(Config(), site, env)
    # What the hub's start-up does before its services start (not its policy audit: a
    # JSON dump of the teams section would count as reading every key of it).
    ctx.ledger.create_schema()
    courses.make_app(env)
    slices.make_app(env)
    culling.arbiter_from_environment()
    for node in site["gpus"]["nodes"]:
        MIG_FILTER.mig_layout_node(site.doc, node["name"])
    Ledger(wiring.ledger_url(site, data)).dispose()
    return seen


def _load_filter(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(f"_filter_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Without Ansible (the filter's own fallback): importing ansible patches sys.intern,
    # which breaks torch in this interpreter (why tests/ansible runs in its own pytest).
    with mock.patch.dict(sys.modules, {"ansible": None, "ansible.errors": None}):
        spec.loader.exec_module(module)
    return module


MIG_FILTER = _load_filter(REPO / "ansible/roles/mig_layout/filter_plugins/mig_layout.py")
"""The mig_layout role's filter: how the nodes read the site file's GPU layout."""

ALL = [*SCENARIOS, *EXAMPLE_SITES]


@pytest.fixture(scope="module")
def reads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[Path_]]:
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        for name in ALL:
            tmp = tmp_path_factory.mktemp(re.sub(r"\W+", "-", name))
            mp.chdir(tmp)
            out[name] = read_paths(name, tmp, mp)
    return out


def test_every_read_key_is_in_the_schema(reads: dict[str, set[Path_]]) -> None:
    unknown = {
        ".".join(p) + f" ({name})"
        for name, paths in reads.items()
        for p in paths
        if schema_path(p) is None
    }
    assert not unknown, f"read by the code but not in hub_config/schema.yaml: {sorted(unknown)}"


def test_every_schema_leaf_is_read(reads: dict[str, set[Path_]]) -> None:
    read = {schema_path(p) for paths in reads.values() for p in paths}
    # A leaf counts as read when the code read it or something inside it (a list's item).
    unread = sorted(".".join(leaf) for leaf in leaves() if leaf not in read)
    assert not unread, f"in hub_config/schema.yaml but read by no code: {unread}"


# --- the mechanism itself ------------------------------------------------------------------


def test_the_recorder_sees_reads_and_only_reads() -> None:
    seen: set[Path_] = set()
    doc = wrap({"hub": {"port": 1, "backend": {"kind": "local"}}, "gpus": {"nodes": []}}, (), seen)
    assert doc["hub"]["port"] == 1
    assert doc.get("gpus").get("missing") is None
    assert seen == {("hub",), ("hub", "port"), ("gpus",), ("gpus", "missing")}
    assert dict(doc["hub"]["backend"]) == {"kind": "local"}
    assert ("hub", "backend", "kind") in seen


def test_schema_paths_follow_maps_lists_and_definitions() -> None:
    assert schema_path(("images", "base", "description")) == ("images", "*", "description")
    assert schema_path(("teams", "acme", "policy", "max_slice")) == ("$defs", "policy", "max_slice")
    assert schema_path(("gpus", "nodes", "[]", "gpus", "[]", "layout", "[]", "start")) == (
        "gpus", "nodes", "[]", "gpus", "[]", "layout", "[]", "start",
    )  # fmt: skip
    assert schema_path(("hub", "admin_users", "[]")) == ("hub", "admin_users")
    assert schema_path(("hub", "no_such_key")) is None
    assert ("hub", "backend", "docker", "images") in leaves()
    assert ("$defs", "policy", "warn_before") in leaves()
