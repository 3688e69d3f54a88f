"""The environment a user's server gets from the hub: every variable's name, written once
and imported by both sides (the hub's spawners write them, the server extension, the
widgets and the lab read them). Pure."""

from __future__ import annotations

from enum import StrEnum


class ServerEnv(StrEnum):
    # The slice (spawners/core/environment.py)
    SLICE = "SANDBOX_SLICE"
    IMAGE = "SANDBOX_IMAGE"
    SLICE_MEMORY_GB = "SANDBOX_SLICE_MEMORY_GB"
    SLICE_KIND = "SANDBOX_SLICE_KIND"
    GPU_MODEL = "SANDBOX_GPU_MODEL"
    GPU_UUID = "SANDBOX_GPU_UUID"
    GPU_INDEX = "SANDBOX_GPU_INDEX"
    ALLOCATION_ID = "SANDBOX_ALLOCATION_ID"
    SLICE_SIMULATED = "SANDBOX_SLICE_SIMULATED"
    # The user's policy (spawners/mixin.py)
    TEAM = "SANDBOX_TEAM"
    ROLE = "SANDBOX_ROLE"
    SESSION_ENDS_AT = "SANDBOX_SESSION_ENDS_AT"
    GPU_HOURS_LEFT = "SANDBOX_GPU_HOURS_LEFT"
    GPU_HOURS_BUDGET = "SANDBOX_GPU_HOURS_BUDGET"
    LANGUAGE = "SANDBOX_LANGUAGE"
    # Where the server finds the hub's services and the tutorials
    USAGE_URL = "SANDBOX_USAGE_URL"
    COURSES_URL = "SANDBOX_COURSES_URL"
    TUTORIALS = "SANDBOX_TUTORIALS"
    MODELS = "SANDBOX_MODELS"
    """The model store's folder in the server (read by notebooks/sandbox_tutorials/store.py,
    the tutorials' own helper package, which names the variable itself)."""
