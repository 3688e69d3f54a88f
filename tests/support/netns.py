"""Throw-away network namespaces joined by a private bridge: "hosts" of a data center
network on one machine, for tests.

``Network.start(["gpu-a", "gpu-b"])`` makes a Linux bridge in the host's namespace with
the address ``10.R.S.1/24`` (a /24 no interface or route here uses), and per node a
network namespace with its own loopback and one end of a veth pair at ``10.R.S.<11+i>``
(the other end on the bridge, default route through the bridge's address). Processes run
in a node with ``node.argv(...)`` (``nsenter --net``); they reach the host only at the
bridge's address and the host reaches them only at theirs. Traffic goes only to the
addresses this network made.

``network.kill(node)`` is a node that dies: every process in its namespace is SIGKILLed
and the namespace and its link are deleted. Leaving the context always does that for every
node and deletes the bridge, even when the test failed.

    with Network.start(["gpu-a", "gpu-b"]) as net:
        net.host_address                     # "10.R.S.1": the host on this network
        net.nodes["gpu-a"].address           # "10.R.S.11"
        subprocess.Popen(net.nodes["gpu-a"].argv("slurmd", "-D"))
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.requirements import missing

IP = "/usr/sbin/ip" if Path("/usr/sbin/ip").exists() else "ip"
NSENTER = "/usr/bin/nsenter"
KILL_DEADLINE_S = 10.0


def require_netns() -> None:
    """Skip (fail under CI) unless this process may make network namespaces."""
    reason = ""
    if shutil.which(IP) is None and not Path(IP).exists():
        reason = "missing ip (Debian: iproute2)"
    elif os.geteuid() != 0:
        reason = "network namespaces need root"
    if not reason:
        return
    missing(reason)


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [IP, *(("-n", netns) if netns else ()), *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {result.stderr.strip()}")
    return result


def _subnet_in_use(subnet: ipaddress.IPv4Network) -> bool:
    out = _ip("-4", "-o", "addr", "show").stdout + _ip("-4", "route", "show").stdout
    for word in out.split():
        try:
            other = ipaddress.ip_network(word, strict=False)
        except ValueError:
            continue
        if other.version == 4 and other.overlaps(subnet) and other.prefixlen > 0:
            return True
    return False


def free_subnet() -> ipaddress.IPv4Network:
    """A private /24 that no interface or route of this host uses."""
    for _ in range(100):
        subnet = ipaddress.ip_network(
            f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(256)}.0/24"
        )
        if not _subnet_in_use(subnet):
            return subnet
    raise RuntimeError("no free private /24 for the test network")


@dataclass
class Node:
    """One namespace: ``name`` is the node's name, ``netns`` the namespace's."""

    name: str
    netns: str
    address: str
    link: str
    alive: bool = True

    def argv(self, *cmd: str) -> list[str]:
        """``cmd`` run inside this node's network namespace. nsenter, not ``ip netns
        exec``: that one also remounts /sys, which hides the cgroup hierarchies that
        slurmd tracks jobs in."""
        return [NSENTER, f"--net=/run/netns/{self.netns}", "--", *cmd]

    def pids(self) -> list[int]:
        out = _ip("netns", "pids", self.netns, check=False).stdout
        return [int(p) for p in out.split() if p.isdigit()]


@dataclass
class Network:
    bridge: str
    subnet: ipaddress.IPv4Network
    nodes: dict[str, Node] = field(default_factory=dict)

    @property
    def host_address(self) -> str:
        return str(self.subnet.network_address + 1)

    @classmethod
    @contextlib.contextmanager
    def start(cls, names: Sequence[str]) -> Iterator[Network]:
        require_netns()
        tag = secrets.token_hex(3)
        net = cls(bridge=f"sbxbr{tag}", subnet=free_subnet())
        try:
            net._make_bridge()
            for i, name in enumerate(names):
                net._add_node(name, f"sbx{tag}n{i}", i)
            yield net
        finally:
            net.close()

    def _make_bridge(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.host_address}/{self.subnet.prefixlen}", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")

    def _add_node(self, name: str, netns: str, index: int) -> None:
        address = str(self.subnet.network_address + 11 + index)
        host_end, node_end = f"{netns}h", f"{netns}v"
        _ip("netns", "add", netns)
        node = Node(name=name, netns=netns, address=address, link=host_end)
        self.nodes[name] = node
        _ip("link", "add", host_end, "type", "veth", "peer", "name", node_end)
        _ip("link", "set", node_end, "netns", netns)
        _ip("link", "set", host_end, "master", self.bridge)
        _ip("link", "set", host_end, "up")
        _ip("link", "set", "lo", "up", netns=netns)
        _ip("addr", "add", f"{address}/{self.subnet.prefixlen}", "dev", node_end, netns=netns)
        _ip("link", "set", node_end, "up", netns=netns)
        _ip("route", "add", "default", "via", self.host_address, netns=netns)
        self._wait_reachable(node)

    def _wait_reachable(self, node: Node) -> None:
        # Both ends of the veth pair report carrier once the pair is up.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            inside = _ip("-o", "link", "show", f"{node.netns}v", netns=node.netns).stdout
            outside = _ip("-o", "link", "show", node.link).stdout
            if (
                "LOWER_UP" in inside
                and "LOWER_UP" in outside
                and "forwarding" in self._port_state(node.link)
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"the link of node {node.name} did not come up")

    def _port_state(self, link: str) -> str:
        return _ip("-d", "-o", "link", "show", link).stdout

    def kill(self, name: str) -> None:
        """The node dies: its processes are killed, its namespace and link deleted."""
        node = self.nodes[name]
        if not node.alive:
            return
        deadline = time.monotonic() + KILL_DEADLINE_S
        while (pids := node.pids()) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        _ip("link", "del", node.link, check=False)
        _ip("netns", "del", node.netns, check=False)
        node.alive = False

    def close(self) -> None:
        for name in list(self.nodes):
            self.kill(name)
        _ip("link", "del", self.bridge, check=False)
