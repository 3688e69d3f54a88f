"""The compiled locks pin everything exactly and agree with their inputs and with base."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.markers import Marker, default_environment

from .conftest import IMAGES, IMAGES_DIR

PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;]+)(\s*;\s*(?P<marker>.+))?$"
)
SPEC = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(?P<spec>[^;#]*)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(image: str, python: str = "3.11") -> dict[str, str]:
    """name -> pinned version, as pip would install the lock on Linux x86_64 with this
    Python (the CI rootfs has 3.11, the CUDA base 3.12)."""
    env = {**default_environment(), "sys_platform": "linux", "platform_system": "Linux",
           "platform_machine": "x86_64", "os_name": "posix", "implementation_name": "cpython",
           "python_version": python, "python_full_version": f"{python}.0"}  # fmt: skip
    pins: dict[str, str] = {}
    lines = (IMAGES_DIR / image / "requirements.txt").read_text().splitlines()
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{image}/requirements.txt:{number}: not an exact pin: {raw!r}"
        if match["marker"] and not Marker(match["marker"]).evaluate(env):
            continue
        name = canonical(match["name"])
        assert name not in pins, f"{image}/requirements.txt: {name} pinned twice for {python}"
        pins[name] = match["version"]
    return pins


def input_specs(path: Path) -> dict[str, str]:
    """name -> version spec of a requirements.in, following -r includes."""
    specs: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-c"):
            continue
        if line.startswith("-r"):
            specs.update(input_specs(path.parent / line[2:].strip()))
            continue
        assert not line.startswith("-"), f"{path}: unsupported option {line!r}"
        match = SPEC.match(line)
        assert match, f"{path}: cannot parse {line!r}"
        specs[canonical(match["name"])] = match["spec"].strip()
    return specs


@pytest.mark.parametrize("image", IMAGES)
def test_lock_pins_every_input(image: str) -> None:
    pins = lock_pins(image)
    specs = input_specs(IMAGES_DIR / image / "requirements.in")
    assert specs, "empty requirements.in"
    for name, spec in specs.items():
        assert name in pins, f"{image}: {name} is in requirements.in but not in the lock"
        if spec.startswith("=="):
            assert pins[name] == spec[2:], f"{image}: {name} locked {pins[name]}, wants {spec}"


@pytest.mark.parametrize("image", IMAGES)
def test_ci_installs_what_production_installs(image: str) -> None:
    """One version per package for both Pythons: the CI build tests the real pins.
    (A backport needed only on 3.11, like `overrides`, may be absent on 3.12.)"""
    py311, py312 = lock_pins(image, "3.11"), lock_pins(image, "3.12")
    differ = {n: (v, py312[n]) for n, v in py311.items() if n in py312 and py312[n] != v}
    assert not differ, f"{image}: versions differ between Python 3.11 and 3.12: {differ}"
    assert len(set(py311) ^ set(py312)) <= 3


@pytest.mark.parametrize("image", IMAGES)
def test_lock_is_the_compiled_output(image: str) -> None:
    head = (IMAGES_DIR / image / "requirements.txt").read_text().splitlines()[:3]
    assert any("images/lock.sh" in line for line in head), "regenerate with images/lock.sh"


@pytest.mark.parametrize("image", IMAGES)
def test_torch_is_the_pinned_cuda_build(image: str) -> None:
    pins = lock_pins(image)
    assert pins["torch"] == "2.13.0"
    # The CUDA runtime wheels torch needs are pinned too (the CUDA-only layer).
    assert any(name.startswith("nvidia-cuda-runtime") for name in pins)


@pytest.mark.parametrize("image", [i for i in IMAGES if i != "base"])
def test_domain_lock_agrees_with_base(image: str) -> None:
    base, domain = lock_pins("base"), lock_pins(image)
    missing = sorted(set(base) - set(domain))
    assert not missing, f"{image} lock lacks base packages: {missing}"
    differ = {n: (base[n], domain[n]) for n in base if base[n] != domain[n]}
    assert not differ, f"{image} lock disagrees with base: {differ}"


def test_hub_facing_versions_match_the_hub() -> None:
    """The single-user server must speak the hub's version (requirements/hub.txt)."""
    hub = (IMAGES_DIR.parent / "requirements" / "hub.txt").read_text()
    pins = lock_pins("base")
    wanted = re.search(r"^jupyterhub==(\S+)", hub, re.M)
    assert wanted and pins["jupyterhub"] == wanted[1]
    assert "jupyterlab-language-pack-ko-kr" in pins
