"""The hub's ports. Internal ports follow the public one, so two hubs can run side by
side (a developer's and a test hub) by choosing public ports a few apart."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Ports:
    public: int
    proxy_api: int
    hub_api: int
    slices_service: int


def hub_ports(public: int, env: Mapping[str, str]) -> Ports:
    def knob(name: str, offset: int) -> int:
        raw = env.get(name, "").strip()
        if raw:
            if not raw.isdigit() or not 1 <= int(raw) <= 65535:
                raise ValueError(f"{name} must be a port number")
            return int(raw)
        port = public + offset
        if port > 65535:
            raise ValueError(f"SANDBOX_PORT {public} leaves no room for internal ports; set {name}")
        return port

    return Ports(
        public=public,
        proxy_api=knob("SANDBOX_PROXY_API_PORT", 1),
        hub_api=knob("SANDBOX_HUB_API_PORT", 2),
        slices_service=knob("SANDBOX_SLICES_PORT", 3),
    )
