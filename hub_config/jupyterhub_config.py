"""JupyterHub configuration: load the site file (validated), then apply it.

Loading it only sets traits (`jupyterhub --show-config` and `jupyterhub upgrade-db` load it
and change nothing); what the hub does once per start runs from the start-up hook that
configure() installs (docs/operations.md). Honours SANDBOX_PORT, SANDBOX_DATA,
SANDBOX_SITE, SANDBOX_ADMIN_TOKEN and SANDBOX_SIMULATED_GPUS (see README.md)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hub_config.site import SiteError, load_site  # noqa: E402
from hub_config.wiring import configure  # noqa: E402

try:
    site = load_site()
except SiteError as e:
    # Fail fast at start-up with the reason, never a traceback.
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)
try:
    configure(c, site)
except SiteError as e:
    # What only start-up can find out (an unreachable OIDC issuer): the reason, no traceback.
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
