"""The site-file loader: defaults < site file < SANDBOX_* knobs, validated on every load."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from hub_config import site as site_module
from hub_config.site import EMBEDDED_SITE, SiteError, deep_merge, load_site


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def defaults_on_disk() -> dict:
    return yaml.safe_load(site_module.DEFAULTS_PATH.read_text(encoding="utf-8"))


# --- the embedded default -------------------------------------------------------------


def test_embedded_site_loads_with_the_documented_defaults() -> None:
    site = load_site(env={})
    assert site.path == EMBEDDED_SITE
    embedded = yaml.safe_load(EMBEDDED_SITE.read_text(encoding="utf-8"))
    assert site["site"]["name"] == embedded["site"]["name"]
    assert site["hub"]["port"] == 8000
    assert site["gpus"]["simulated_count"] == 1
    assert site["gpus"]["mig_strategy"] == "dynamic"
    assert set(site["images"]) == {"base", "speech", "vision", "medical", "legal"}
    assert site["defaults"] == {"image": "base", "slice": "cpu"}


def test_sandbox_site_names_the_site_file(tmp_path: Path) -> None:
    path = write(tmp_path, "site: {name: From the environment}\n")
    assert load_site(env={"SANDBOX_SITE": str(path)})["site"]["name"] == "From the environment"
    # An explicit path wins over the knob.
    other = write(tmp_path, "site: {name: Explicit}\n", "other.yaml")
    assert load_site(other, env={"SANDBOX_SITE": str(path)})["site"]["name"] == "Explicit"


def test_an_empty_site_file_is_the_defaults(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, ""), env={})
    assert dict(site.doc) == defaults_on_disk()


# --- layering and the defaults are never mutated ------------------------------------------


def test_site_file_values_merge_key_by_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "site: {name: Course}\nhub: {port: 9100}\ngpus: {simulated_count: 3}\n"
        "images: {legal: {description: Contracts}}\n",
    )
    site = load_site(path, env={})
    assert site["hub"]["port"] == 9100
    assert site["hub"]["bind_ip"] == "127.0.0.1"  # untouched sibling survives
    assert site["gpus"]["simulated_count"] == 3
    assert site["gpus"]["source"] == "auto"
    assert site["images"]["legal"] == {"description": "Contracts", "min_slice": "cpu"}
    assert site["images"]["speech"]["min_slice"] == "1g.10gb"


def test_defaults_are_never_mutated_across_loads(tmp_path: Path) -> None:
    pristine = defaults_on_disk()
    first = load_site(
        write(tmp_path, "hub: {port: 9100, admin_users: [root1]}\n"), env={"SANDBOX_PORT": "9300"}
    )
    assert first["hub"]["port"] == 9300
    # Mutating what one load returned must not leak into the next.
    first.doc["hub"]["admin_users"].append("intruder")
    first.doc["gpus"]["simulated_count"] = 99
    second = load_site(env={})
    assert second["hub"]["port"] == 8000
    assert second["hub"]["admin_users"] == ["admin"]
    assert second["gpus"]["simulated_count"] == 1
    assert defaults_on_disk() == pristine


def test_deep_merge_copies_and_never_mutates_its_inputs() -> None:
    base = {"a": {"b": [1, 2], "c": {"d": 1}}, "keep": True}
    override = {"a": {"c": {"e": 2}, "b": [3]}, "new": {"x": [1]}}
    base_before, override_before = copy.deepcopy(base), copy.deepcopy(override)
    out = deep_merge(base, override)
    assert out == {"a": {"b": [3], "c": {"d": 1, "e": 2}}, "keep": True, "new": {"x": [1]}}
    assert base == base_before and override == override_before
    out["a"]["c"]["d"] = 100
    out["new"]["x"].append(2)
    assert base == base_before and override == override_before


def test_every_load_validates(tmp_path: Path) -> None:
    path = write(tmp_path, "hub: {port: 9100}\n")
    load_site(path, env={})
    path.write_text("hub: {port: 0}\n", encoding="utf-8")
    with pytest.raises(SiteError, match=r"at hub\.port"):
        load_site(path, env={})


# --- clear errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where", "key", "suggestion"),
    [
        # A typo: did you mean ...
        (
            "gpus: {simulated_cont: 2}\n",
            "at gpus:",
            "'simulated_cont'",
            "did you mean 'simulated_count'",
        ),
        ("hub: {prot: 9000}\n", "at hub:", "'prot'", "did you mean 'port'"),
        ("hub: {backend: {knd: local}}\n", "at hub.backend:", "'knd'", "did you mean 'kind'"),
        # A misplaced key (right name, wrong section): the section's keys are listed.
        (
            "hub: {simulated_count: 2}\n",
            "at hub:",
            "'simulated_count'",
            "allowed here: admin_users",
        ),
        ("port: 9000\n", "at (top level):", "'port'", "allowed here: courses, defaults, gpus, hub"),
        ("gpus: {port: 9000}\n", "at gpus:", "'port'", "allowed here: mig_strategy"),
    ],
)
def test_unknown_or_misplaced_keys_name_the_path_and_suggest(
    tmp_path: Path, text: str, where: str, key: str, suggestion: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SiteError) as info:
        load_site(path, env={})
    message = str(info.value)
    assert str(path) in message
    assert where in message
    assert f"unknown key {key}" in message
    assert suggestion in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("hub: {port: 70000}\n", "at hub.port"),
        ("hub: {port: '8000'}\n", "at hub.port"),
        ("gpus: {source: magic}\n", "at gpus.source"),
        ("gpus: {placement: best-fit}\n", "at gpus.placement"),
        ("defaults: {image: base, slice: 9g.90gb}\n", "at defaults.slice"),
        ("slices: [cpu, huge]\n", "at slices[1]"),
        ("hub: {admin_users: [Not A Name]}\n", "at hub.admin_users[0]"),
    ],
)
def test_invalid_values_name_the_path(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(SiteError, match="is not valid") as info:
        load_site(write(tmp_path, text), env={})
    assert fragment in str(info.value)


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    path = write(tmp_path, "hub: {port: 0, prot: 1}\ngpus: {source: magic}\n")
    with pytest.raises(SiteError) as info:
        load_site(path, env={})
    message = str(info.value)
    assert "at hub.port" in message and "'prot'" in message and "at gpus.source" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("- just\n- a list\n", "top level must be a mapping"),
        ("hub: [unclosed\n", "not valid YAML"),
    ],
)
def test_unreadable_site_files(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(SiteError, match=fragment):
        load_site(write(tmp_path, text), env={})


def test_a_missing_site_file(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match="cannot read site file"):
        load_site(tmp_path / "nope.yaml", env={})


# --- environment knobs ----------------------------------------------------------------


def test_sandbox_port_overrides_the_site_file(tmp_path: Path) -> None:
    path = write(tmp_path, "hub: {port: 9100}\n")
    assert load_site(path, env={"SANDBOX_PORT": "9200"})["hub"]["port"] == 9200
    assert load_site(path, env={"SANDBOX_PORT": " 9201 "})["hub"]["port"] == 9201
    assert load_site(path, env={})["hub"]["port"] == 9100


def test_sandbox_simulated_gpus_overrides_the_site_file(tmp_path: Path) -> None:
    path = write(tmp_path, "gpus: {simulated_count: 2}\n")
    assert load_site(path, env={"SANDBOX_SIMULATED_GPUS": "4"})["gpus"]["simulated_count"] == 4
    assert load_site(path, env={"SANDBOX_SIMULATED_GPUS": "0"})["gpus"]["simulated_count"] == 0


@pytest.mark.parametrize(
    ("knob", "value"),
    [
        ("SANDBOX_PORT", "abc"),
        ("SANDBOX_PORT", "0"),
        ("SANDBOX_PORT", "65536"),
        ("SANDBOX_PORT", "-1"),
        ("SANDBOX_PORT", "80.5"),
        ("SANDBOX_PORT", ""),
        ("SANDBOX_PORT", "8000\n9000"),
        # Unicode digits that str.isdigit() accepts but int() does not.
        ("SANDBOX_PORT", "\u00b2"),
        ("SANDBOX_SIMULATED_GPUS", "many"),
        ("SANDBOX_SIMULATED_GPUS", "-2"),
        ("SANDBOX_SIMULATED_GPUS", "4097"),
        ("SANDBOX_SIMULATED_GPUS", "\u00b9"),
    ],
)
def test_bad_knobs_are_refused_with_their_name(knob: str, value: str) -> None:
    with pytest.raises(SiteError) as info:
        load_site(env={knob: value})
    assert knob in str(info.value)
    assert "whole number" in str(info.value)


# --- MIG layouts ------------------------------------------------------------------------

LAYOUT_SITE = """
gpus:
  source: declared
  mig_strategy: static
  nodes:
    - name: node1
      gpus:
        - index: 0
          mode: {mode}
          layout: {layout}
"""


def layout_site(tmp_path: Path, layout: str, mode: str = "mig") -> Path:
    return write(tmp_path, LAYOUT_SITE.format(layout=layout, mode=mode))


@pytest.mark.parametrize(
    "layout",
    [
        "[{profile: 7g.80gb, start: 0}]",
        "[{profile: 4g.40gb, start: 0}, {profile: 3g.40gb, start: 4}]",
        "[{profile: 3g.40gb, start: 4}, {profile: 3g.40gb, start: 0}]",
        "[{profile: 2g.20gb, start: 0}, {profile: 2g.20gb, start: 2}, {profile: 2g.20gb, start: 4},"
        " {profile: 1g.20gb, start: 6}]",
        "[" + ", ".join(f"{{profile: 1g.10gb, start: {s}}}" for s in range(7)) + "]",
        "[{profile: 1g.20gb, start: 0}, {profile: 1g.20gb, start: 2}, {profile: 1g.20gb, start: 4},"
        " {profile: 1g.20gb, start: 6}]",
    ],
)
def test_valid_mig_layouts_load(tmp_path: Path, layout: str) -> None:
    site = load_site(layout_site(tmp_path, layout), env={})
    assert site["gpus"]["nodes"][0]["gpus"][0]["layout"]


@pytest.mark.parametrize(
    ("layout", "fragment"),
    [
        ("[{profile: 3g.40gb, start: 2}]", "3g.40gb cannot start at slot 2"),
        ("[{profile: 4g.40gb, start: 4}]", "4g.40gb cannot start at slot 4"),
        ("[{profile: 1g.20gb, start: 1}]", "1g.20gb cannot start at slot 1"),
        ("[{profile: 2g.20gb, start: 6}]", "2g.20gb cannot start at slot 6"),
        ("[{profile: 3g.40gb, start: 0}, {profile: 1g.10gb, start: 2}]", "cannot start at slot 2"),
        ("[{profile: 1g.10gb, start: 4}, {profile: 3g.40gb, start: 4}]", "cannot start at slot 4"),
        ("[{profile: 7g.80gb, start: 0}, {profile: 1g.10gb, start: 6}]", "cannot start at slot 6"),
        ("[{profile: 4g.40gb, start: 0}, {profile: 4g.40gb, start: 0}]", "cannot start at slot 0"),
        # Start 7 is never valid: the schema says so before the placement table does.
        ("[{profile: 1g.10gb, start: 7}]", "at gpus.nodes[0].gpus[0].layout[0].start"),
        ("[{profile: 8g.90gb, start: 0}]", "at gpus.nodes[0].gpus[0].layout[0].profile"),
        ("[{profile: 1g.10gb}]", "'start' is a required property"),
        ("[{profile: 1g.10gb, start: 0, size: 1}]", "unknown key 'size'"),
    ],
)
def test_invalid_mig_layouts_are_rejected(tmp_path: Path, layout: str, fragment: str) -> None:
    path = layout_site(tmp_path, layout)
    with pytest.raises(SiteError) as info:
        load_site(path, env={})
    assert fragment in str(info.value)
    assert str(path) in str(info.value)


def test_a_layout_needs_mig_mode(tmp_path: Path) -> None:
    path = layout_site(tmp_path, "[{profile: 1g.10gb, start: 0}]", mode="mps")
    with pytest.raises(SiteError, match="node node1 GPU 0: a layout needs mode: mig"):
        load_site(path, env={})
