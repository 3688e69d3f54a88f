"""GPU models and their MIG GPU-instance profiles, as data. Pure: no I/O.

From NVIDIA's MIG User Guide ("Supported MIG Profiles") and checked, model by model,
against recorded ``nvidia-smi mig -lgip`` / ``-lgipp`` outputs and NVML snapshots in
``tests/core/fixtures/mig/`` (``tests/core/test_gpu_models.py``).

What differs between the models here is only the names (the memory in GB): the
placement geometry is the same on every A100, H100 and H200. The GPU has 8 memory slots
and 7 compute slices, and each profile class has the same nvidia-smi profile id, NVML
profile, size and valid start slots everywhere:

============  ========  ============  =======  =====  ============  =========
class         smi id    NVML profile  compute  slots  valid starts  instances
============  ========  ============  =======  =====  ============  =========
1 slice       19        1_SLICE       1        1      0-6           7
1 slice +me   20        1_SLICE_REV1  1        1      0-6           1
1 slice x2    15        1_SLICE_REV2  1        2      0, 2, 4, 6    4
2 slices      14        2_SLICE       2        2      0, 2, 4       3
3 slices      9         3_SLICE       3        4      0, 4          2
4 slices      5         4_SLICE       4        4      0             1
7 slices      0         7_SLICE       7        8      0             1
============  ========  ============  =======  =====  ============  =========

So the allocator works on the geometry and each model only names it. The ``+me``
profile (media extensions, one per GPU) is a variant of the 1-slice profile: an existing
``1g.10gb+me`` instance is offered as a ``1g.10gb`` slice, and the hub never creates one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MEMORY_SLOTS = 8
"""Memory slots of one MIG-capable GPU (each an eighth of its memory)."""

COMPUTE_SLICES = 7
"""Compute slices of one MIG-capable GPU."""


@dataclass(frozen=True)
class ProfileClass:
    """One placement class of GPU instance, the same on every model of the catalogue."""

    profile_id: int
    """nvidia-smi's profile ID (what NVML returns as ``nvmlGpuInstanceProfileInfo_t.id``
    and ``nvidia-smi mig -cgi <id>:<start>`` takes)."""
    nvml_profile: int
    """The ``NVML_GPU_INSTANCE_PROFILE_*`` value nvmlDeviceGetGpuInstanceProfileInfo takes."""
    compute: int
    memory_slots: int
    valid_starts: tuple[int, ...]
    instances: int
    """At most this many on one GPU (nvidia-smi's Instances Total)."""


ONE_SLICE = ProfileClass(19, 0x0, 1, 1, (0, 1, 2, 3, 4, 5, 6), 7)
ONE_SLICE_ME = ProfileClass(20, 0x7, 1, 1, (0, 1, 2, 3, 4, 5, 6), 1)
ONE_SLICE_X2 = ProfileClass(15, 0x9, 1, 2, (0, 2, 4, 6), 4)
TWO_SLICES = ProfileClass(14, 0x1, 2, 2, (0, 2, 4), 3)
THREE_SLICES = ProfileClass(9, 0x2, 3, 4, (0, 4), 2)
FOUR_SLICES = ProfileClass(5, 0x3, 4, 4, (0,), 1)
SEVEN_SLICES = ProfileClass(0, 0x4, 7, 8, (0,), 1)

PROFILE_CLASSES: tuple[ProfileClass, ...] = (
    ONE_SLICE,
    ONE_SLICE_ME,
    ONE_SLICE_X2,
    TWO_SLICES,
    THREE_SLICES,
    FOUR_SLICES,
    SEVEN_SLICES,
)
OFFERED_CLASSES: tuple[ProfileClass, ...] = tuple(
    c for c in PROFILE_CLASSES if c is not ONE_SLICE_ME
)
"""The classes the hub hands out (and creates): every class but the ``+me`` variant."""

CLASS_BY_PROFILE_ID: dict[int, ProfileClass] = {c.profile_id: c for c in PROFILE_CLASSES}
CLASS_BY_NVML_PROFILE: dict[int, ProfileClass] = {c.nvml_profile: c for c in PROFILE_CLASSES}


@dataclass(frozen=True)
class MigProfileSpec:
    """One MIG profile of one GPU model: a canonical name for a placement class."""

    name: str
    cls: ProfileClass

    @property
    def memory_gb(self) -> int:
        return int(self.name.split(".")[1].removesuffix("gb"))


@dataclass(frozen=True)
class GpuModel:
    key: str
    """The catalogue key a site file names (``gpus.nodes[].gpus[].model``)."""
    label: str
    """How users see the family (spawn form, capacity page)."""
    memory_gb: int
    profiles: tuple[MigProfileSpec, ...]
    """The offered MIG profiles, smallest first (the ``+me`` variant is not one)."""
    aliases: tuple[tuple[str, str], ...] = ()
    """Names some drivers print for a profile -> the canonical name."""
    device_names: tuple[str, ...] = ()
    """Names NVML reports for GPUs of this model (matching is by :func:`model_for_device`);
    the first is the model's own (its SXM part), what a GPU declared by catalogue key is
    taken to report."""

    @property
    def nvml_name(self) -> str:
        return self.device_names[0]

    @property
    def gfd_product(self) -> str:
        """The ``nvidia.com/gpu.product`` label NVIDIA's GPU Feature Discovery gives a
        node with this GPU: its NVML name, spaces as dashes (``NVIDIA-H100-80GB-HBM3``,
        ``NVIDIA-H200``, ``NVIDIA-A100-SXM4-40GB``); with the ``single`` MIG strategy,
        ``<product>-MIG-<profile>``."""
        return gfd_product(self.nvml_name)

    def profile(self, name: str) -> MigProfileSpec | None:
        name = canonical_profile_name(name, self)
        return next((p for p in self.profiles if p.name == name), None)

    def by_profile_id(self, profile_id: int) -> MigProfileSpec | None:
        """The offered profile of this nvidia-smi id; the ``+me`` id gives its base."""
        cls = CLASS_BY_PROFILE_ID.get(profile_id)
        if cls is ONE_SLICE_ME:
            cls = ONE_SLICE
        return next((p for p in self.profiles if p.cls is cls), None)


def _model(
    key: str,
    label: str,
    memory_gb: int,
    names: tuple[str, str, str, str, str, str],
    aliases: tuple[tuple[str, str], ...] = (),
    device_names: tuple[str, ...] = (),
) -> GpuModel:
    classes = (ONE_SLICE, ONE_SLICE_X2, TWO_SLICES, THREE_SLICES, FOUR_SLICES, SEVEN_SLICES)
    return GpuModel(
        key=key,
        label=label,
        memory_gb=memory_gb,
        profiles=tuple(MigProfileSpec(n, c) for n, c in zip(names, classes, strict=True)),
        aliases=aliases,
        device_names=device_names,
    )


H100_80GB = _model(
    "h100-80gb",
    "H100 80GB",
    80,
    ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
    device_names=("NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe"),
)
H100_94GB = _model(
    "h100-94gb",
    "H100 94GB",
    94,
    ("1g.12gb", "1g.24gb", "2g.24gb", "3g.47gb", "4g.47gb", "7g.94gb"),
    device_names=("NVIDIA H100 NVL",),
)
H200_141GB = _model(
    "h200-141gb",
    "H200 141GB",
    141,
    ("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"),
    device_names=("NVIDIA H200", "NVIDIA H200 NVL"),
)
A100_80GB = _model(
    "a100-80gb",
    "A100 80GB",
    80,
    ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
    # R535/R545 drivers print the 3-slice profile of an A100 80GB as 3g.39gb
    # (NVIDIA/mig-parted issue 31).
    aliases=(("3g.39gb", "3g.40gb"),),
    device_names=("NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe"),
)
A100_40GB = _model(
    "a100-40gb",
    "A100 40GB",
    40,
    ("1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"),
    device_names=("NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB", "A100-SXM4-40GB"),
)

GPU_MODELS: tuple[GpuModel, ...] = (H100_80GB, H100_94GB, H200_141GB, A100_80GB, A100_40GB)
"""The catalogue, in the order slice names are first defined (a name's reference
geometry is its first model's: ``1g.10gb`` is one memory slot as on an H100 80GB,
although on an A100 40GB it takes two)."""

MODELS_BY_KEY: dict[str, GpuModel] = {m.key: m for m in GPU_MODELS}
DEFAULT_MODEL = H100_80GB
"""What a GPU whose model is not given (or not known) is taken to be, and what
simulated GPUs are by default."""

_VARIANT = re.compile(r"(\+me\.all|\+me|-me|\+gfx)$")
_PROFILE_NAME = re.compile(r"^[1-8]g\.[0-9]{1,3}gb$")


def canonical_profile_name(name: str, model: GpuModel | None = None) -> str:
    """The catalogue name of a profile as some driver or tool prints it.

    ``MIG 1g.10gb+me`` -> ``1g.10gb`` (media-engine and graphics variants are the same
    slice), ``3g.39gb`` -> ``3g.40gb`` on an A100 80GB (the model's own aliases; without a
    model every model's alias that is unambiguous applies)."""
    out = name.strip()
    out = out.removeprefix("MIG ").strip().lower()
    out = _VARIANT.sub("", out)
    models = (model,) if model is not None else GPU_MODELS
    targets = {dict(m.aliases).get(out) for m in models} - {None}
    if len(targets) == 1:
        out = targets.pop()
    return out


def is_variant_name(name: str) -> bool:
    """A media-engine or graphics variant of a profile (``1g.10gb+me``, ``1g.24gb-me``)."""
    return bool(_VARIANT.search(name.strip().removeprefix("MIG ").strip().lower()))


def is_profile_name(name: str) -> bool:
    return bool(_PROFILE_NAME.fullmatch(name))


_WORDS = re.compile(r"[A-Z0-9]+")


def model_for_device(name: str, memory_mib: int | None = None) -> GpuModel | None:
    """The catalogue model of a GPU from the name NVML (or a site file) gives it.

    Accepts the catalogue key (``h200-141gb``), the label (``H200 141GB``) and device
    names as NVML reports them (``NVIDIA H100 80GB HBM3``, ``NVIDIA H100 NVL``,
    ``NVIDIA A100-SXM4-40GB``, ``NVIDIA H200``). None for a GPU the catalogue does not
    know (a GH200, an H20, a B200...): on a real node its table then comes from NVML."""
    text = name.strip()
    if text.lower() in MODELS_BY_KEY:
        return MODELS_BY_KEY[text.lower()]
    for m in GPU_MODELS:
        if text.lower() == m.label.lower():
            return m
    raw = text.upper()
    words = set(_WORDS.findall(raw))
    gb = {int(n) for n in re.findall(r"(\d{2,3})\s*GB", raw)}
    if "GH200" in words or "H20" in words:
        return None  # Grace Hopper and H20 GPUs have tables of their own
    if "H200" in words:
        return H200_141GB
    if "H100" in words or "H800" in words:
        if 96 in gb:
            return None  # the 96 GB H100 of a GH200
        if "NVL" in words or 94 in gb:
            return H100_94GB
        if not gb and memory_mib is not None and memory_mib > 88 * 1024:
            return H100_94GB
        return H100_80GB
    if "A100" in words or "A800" in words:
        if 40 in gb:
            return A100_40GB
        if 80 in gb:
            return A100_80GB
        if memory_mib is not None:
            return A100_40GB if memory_mib < 60 * 1024 else A100_80GB
        return A100_40GB
    return None


def profile_names() -> tuple[str, ...]:
    """Every MIG profile name of the catalogue, first-defined order, each once."""
    out: list[str] = []
    for m in GPU_MODELS:
        for p in m.profiles:
            if p.name not in out:
                out.append(p.name)
    return tuple(out)


# --- How other tools name a GPU and its MIG devices -------------------------------------


def device_name_of(model_name: str) -> str:
    """The NVML name of a GPU the site file (or NVML) calls ``model_name``: the name
    itself when it is one of its model's (``NVIDIA H100 PCIe``), else the model's own
    (``h200-141gb`` -> ``NVIDIA H200``; a simulated GPU's); the text itself for a GPU
    the catalogue does not know."""
    text = model_name.strip()
    model = model_for_device(text)
    if model is None:
        return text
    return text if text in model.device_names else model.nvml_name


def gfd_product(device_name: str) -> str:
    """GPU Feature Discovery's ``nvidia.com/gpu.product`` of a GPU NVML names so."""
    return "-".join(device_name.split())


def slurm_gres_type(device_name: str, profile: str | None = None) -> str:
    """The gres type Slurm's ``AutoDetect=nvml`` gives a GPU NVML names ``device_name``
    (gpu_nvml.c): the name lower-cased, spaces as underscores (``NVIDIA H100 80GB HBM3``
    -> ``nvidia_h100_80gb_hbm3``); a MIG device of it: that name up to its first dash,
    then ``_<profile>`` (``nvidia_h100_80gb_hbm3_1g.10gb``, ``NVIDIA A100-SXM4-40GB`` ->
    ``nvidia_a100_1g.5gb``, ``NVIDIA H200`` -> ``nvidia_h200_1g.18gb``)."""
    name = device_name.strip().lower().replace(" ", "_")
    if profile is None:
        return name
    return f"{name.split('-', 1)[0]}_{profile}"
