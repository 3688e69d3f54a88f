"""The hub's ports and internal address. Internal ports follow the public one, so two
hubs can run side by side (a developer's and a test hub) by choosing public ports a few
apart; the internal address (``hub.internal_url``) is where servers reach the hub API and
the hub's services (docs/networking.md)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


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


@dataclass(frozen=True)
class InternalAddress:
    """Where the hub's internal endpoints (the hub API, the slices and the courses
    services) listen, and the host servers reach them at (``hub.internal_url``)."""

    scheme: str
    host: str
    bind_ip: str

    def url(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{port}"

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


LOOPBACK = InternalAddress(scheme="http", host="127.0.0.1", bind_ip="127.0.0.1")
"""No ``hub.internal_url``: servers run on the hub's own host."""


def is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def internal_address(internal_url: str | None) -> InternalAddress:
    """``hub.internal_url`` (``http://HOST``) as an address; ValueError says what is wrong.

    An IP address is also where the endpoints listen; a host name (a Kubernetes Service,
    a DNS name of the hub's internal interface) is reached through name resolution, so
    they listen on every interface (0.0.0.0) and the network must keep them internal."""
    if not internal_url:
        return LOOPBACK
    parts = urlsplit(internal_url)
    if parts.scheme != "http":
        raise ValueError(
            f"hub.internal_url {internal_url!r} must start with http:// (the hub API and "
            "its services speak plain HTTP on the internal network; TLS belongs to the "
            "public entry)"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError(f"hub.internal_url {internal_url!r} must be http://HOST and nothing more")
    if parts.path not in ("", "/"):
        raise ValueError(
            f"hub.internal_url {internal_url!r} must have no path (servers find the hub API "
            "at /hub/api and each service at /services/<name>/ on their own ports)"
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None:
        raise ValueError(
            f"hub.internal_url {internal_url!r} must have no port: the hub API and the "
            "services keep their own ports (SANDBOX_HUB_API_PORT, SANDBOX_SLICES_PORT, "
            "SANDBOX_COURSES_PORT, following SANDBOX_PORT)"
        )
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"hub.internal_url {internal_url!r} names no host")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return InternalAddress(scheme="http", host=host, bind_ip="0.0.0.0")
    if ip.is_unspecified:
        raise ValueError(
            f"hub.internal_url {internal_url!r}: {host} is no address a server can reach; "
            "give the hub's address on the servers' network"
        )
    return InternalAddress(scheme="http", host=str(ip), bind_ip=str(ip))
