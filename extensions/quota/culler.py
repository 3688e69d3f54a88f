"""Run jupyterhub-idle-culler as a managed service that keeps the service lifetime
(extensions/service_lifetime.py): it ends at once on the hub's SIGINT or SIGTERM, whatever
it inherited, and when its hub is gone. ``python -m extensions.quota.culler`` takes the
culler's own arguments; without ``--config`` it reads the per-team arbiter beside it
(culler_config.py)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from extensions.service_lifetime import exit_now, interrupt_on_stop

CONFIG = Path(__file__).with_name("culler_config.py")


def main() -> None:
    interrupt_on_stop()
    if not any(a == "--config" or a.startswith("--config=") for a in sys.argv[1:]):
        sys.argv.append(f"--config={CONFIG}")
    from jupyterhub_idle_culler import main as culler_main

    # Its loop ends quietly on the interrupt; this covers one that comes before the loop.
    with contextlib.suppress(KeyboardInterrupt):
        culler_main()
    exit_now()


if __name__ == "__main__":
    main()
