"""A private, throw-away Docker daemon for tests.

``DockerDaemon`` starts Debian's ``dockerd`` with its own data root, exec root, pid file
and unix socket, all under one short temporary folder (unix socket paths are limited to
~100 bytes), with no bridge and no iptables rules, so it never touches the host's
networking or another daemon running beside it (a developer's, another test's).
Containers it runs use ``--network host`` or ``--network none``. It waits for readiness
with a deadline (the socket answers ``docker info``; never a fixed sleep), fails fast
with the daemon's log when ``dockerd`` exits early, and always stops the daemon (TERM,
then KILL) and removes its folder.

``docker_daemon`` is a pytest fixture factory built on it; ``docker_daemon_or_skip`` skips a test
where docker is missing, and under CI (``CI=true``) fails it instead, so a CI image that
lost docker.io cannot go green by skipping.

    with DockerDaemon.start() as daemon:
        daemon.docker("info")            # CompletedProcess, raises on failure
        env = daemon.env                 # DOCKER_HOST etc. for other clients
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.requirements import require_tool

START_DEADLINE_S = 60.0
STOP_DEADLINE_S = 30.0
POLL_INTERVAL_S = 0.2


class DockerUnavailable(RuntimeError):
    """dockerd or the docker CLI is not installed here."""


class DockerStartError(RuntimeError):
    """dockerd is installed but the private daemon did not come up."""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _unmount_below(root: Path) -> None:
    """Lazily unmount whatever a killed daemon left mounted under root."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return
    points = [line.split()[1] for line in mounts if len(line.split()) > 1]
    for point in sorted((p for p in points if p.startswith(f"{root}/")), reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


@dataclass
class DockerDaemon:
    """One running private dockerd; use ``DockerDaemon.start()`` as a context manager."""

    root: Path
    process: subprocess.Popen
    socket: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    @contextlib.contextmanager
    def start(
        cls,
        *,
        extra_args: tuple[str, ...] = (),
        deadline_s: float = START_DEADLINE_S,
        data_root: Path | None = None,
    ) -> Iterator[DockerDaemon]:
        """``data_root``: keep images (and containers) in this folder, which outlives the
        daemon (the caller makes sure no other daemon uses it meanwhile); default a
        throw-away one beside the socket."""
        for command in ("dockerd", "docker"):
            if shutil.which(command) is None:
                raise DockerUnavailable(f"{command} is not installed")
        root = Path(tempfile.mkdtemp(prefix="dockerd-", dir="/tmp"))
        sock, log = root / "docker.sock", root / "dockerd.log"
        cmd = [
            "dockerd",
            "--data-root", str(data_root or root / "data"),
            "--exec-root", str(root / "exec"),
            "--pidfile", str(root / "dockerd.pid"),
            "--host", f"unix://{sock}",
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
            *extra_args,
        ]  # fmt: skip
        env = {
            **os.environ,
            "DOCKER_HOST": f"unix://{sock}",
            "DOCKER_CONFIG": str(root / "client"),
            # The classic builder honours --network host, which is how builds reach
            # the network without a bridge.
            "DOCKER_BUILDKIT": "0",
        }
        with log.open("wb") as log_fh:
            process = subprocess.Popen(
                cmd, stdout=log_fh, stderr=subprocess.STDOUT, start_new_session=True
            )
        daemon = cls(root=root, process=process, socket=sock, log=log, env=env)
        try:
            daemon._wait_ready(deadline_s)
            yield daemon
        finally:
            daemon.stop()
            _unmount_below(root)
            if data_root is not None:
                _unmount_below(data_root)
            shutil.rmtree(root, ignore_errors=True)

    def _wait_ready(self, deadline_s: float) -> None:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DockerStartError(
                    f"dockerd exited with {self.process.returncode}:\n{_tail(self.log)}"
                )
            if self.socket.exists():
                probe = subprocess.run(
                    ["docker", "info", "--format", "{{.ServerVersion}}"],
                    env=self.env,
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
                if probe.returncode == 0 and probe.stdout.strip():
                    return
            time.sleep(POLL_INTERVAL_S)
        raise DockerStartError(f"dockerd not ready after {deadline_s:.0f}s:\n{_tail(self.log)}")

    def docker(
        self, *args: str, check: bool = True, timeout: float = 600, **kwargs
    ) -> subprocess.CompletedProcess:
        """Run the docker CLI against this daemon (text output captured)."""
        kwargs.setdefault("capture_output", True)
        result = subprocess.run(
            ["docker", *args], env=self.env, text=True, timeout=timeout, **kwargs
        )
        if check and result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, result.args, result.stdout, result.stderr
            )
        return result

    @contextlib.contextmanager
    def bridge_network(self, prefix: str) -> Iterator[tuple[str, str]]:
        """A user-defined bridge on a free private /24, as a data center gives its
        containers: yields (network name, gateway address); on exit removes the network
        and every container still attached to it. No masquerading: nothing beyond the
        host is reachable, as on this machine."""
        from tests.support.netns import free_subnet

        subnet = free_subnet()
        gateway = str(subnet.network_address + 1)
        network = f"{prefix}-{secrets.token_hex(3)}"
        self.docker(
            "network", "create", "--driver", "bridge", "--subnet", str(subnet),
            "--gateway", gateway, "-o", f"com.docker.network.bridge.name={network[4:]}",
            "-o", "com.docker.network.bridge.enable_ip_masquerade=false", network,
        )  # fmt: skip
        try:
            yield network, gateway
        finally:
            attached = self.docker("ps", "-aq", "--filter", f"network={network}", check=False)
            for container in attached.stdout.split():
                self.docker("rm", "-f", container, check=False)
            self.docker("network", "rm", network, check=False)

    def stop(self) -> None:
        """Stop the daemon (and the containerd it manages); idempotent."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=STOP_DEADLINE_S)


def docker_daemon_or_skip() -> contextlib.AbstractContextManager[DockerDaemon]:
    """DockerDaemon.start(), but a missing docker skips the test (fails under CI)."""
    require_tool("dockerd", "docker", why="docker.io")
    return DockerDaemon.start()
