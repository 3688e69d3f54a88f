"""`make run`: start the hub in the foreground with the embedded default (or SANDBOX_SITE).

Ctrl-C or SIGTERM stops it within seconds: the hub stops its services and the proxy and
leaves the users' servers running, and the next start finds them again
(docs/operations.md)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from hub_config.site import SiteError, load_site

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    try:
        site = load_site()
    except SiteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(
        [str(REPO / "node_modules" / ".bin"), str(Path(sys.executable).parent), env.get("PATH", "")]
    )
    data = Path(env.get("SANDBOX_DATA") or ".sandbox").resolve()
    env["SANDBOX_DATA"] = str(data)
    port = site["hub"]["port"]
    print(
        f"AI Sandbox Hub: http://{site['hub']['bind_ip']}:{port}  (data in {data})",
        file=sys.stderr,
        flush=True,
    )
    jupyterhub = str(Path(sys.executable).parent / "jupyterhub")
    # A run started from a background job of a shell ignores SIGINT, and the hub would
    # hand that on to the services it starts: they would then sit out its stop.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    os.execve(
        jupyterhub, [jupyterhub, "-f", str(REPO / "hub_config" / "jupyterhub_config.py")], env
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
