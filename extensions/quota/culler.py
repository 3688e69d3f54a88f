"""Run jupyterhub-idle-culler as a managed service that keeps the service lifetime
(extensions/service_lifetime.py): it ends at once on the hub's SIGINT or SIGTERM, whatever
it inherited, and when its hub is gone. ``python -m extensions.quota.culler`` takes the
culler's own arguments."""

from __future__ import annotations

import contextlib

from extensions.service_lifetime import exit_now, interrupt_on_stop


def main() -> None:
    interrupt_on_stop()
    from jupyterhub_idle_culler import main as culler_main

    # Its loop ends quietly on the interrupt; this covers one that comes before the loop.
    with contextlib.suppress(KeyboardInterrupt):
        culler_main()
    exit_now()


if __name__ == "__main__":
    main()
