"""One tenant's kernel against the hub and another tenant, on the embedded default as
root runs it: everything below is code a hostile user runs in their own notebook, through
the real kernel websocket, and each attack must fail."""

from __future__ import annotations

import json
import os
import pwd
import stat
from pathlib import Path

import pytest

from spawners.core.accounts import account_name
from tests.integration.conftest import make_hub  # noqa: F401
from tests.support.hub import Hub
from tests.support.kernel import Kernel
from tests.support.requirements import require_root

pytestmark = pytest.mark.integration

PROBE = """
import json, os
def attempt(path):
    try:
        if os.path.isdir(path):
            return "READ: " + ",".join(sorted(os.listdir(path)))[:200]
        with open(path, "rb") as f:
            return f"READ: {len(f.read())} bytes"
    except OSError as e:
        return "denied (%s)" % type(e).__name__
print(json.dumps({name: attempt(path) for name, path in json.loads(__TARGETS__).items()}))
"""

SCAN = """
import json, os
secrets = json.loads(__SECRETS__)
found = []
for entry in os.listdir("/proc"):
    if not entry.isdigit():
        continue
    for part in ("environ", "cmdline"):
        try:
            with open(f"/proc/{entry}/{part}", "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            continue
        found += [f"{name} in /proc/{entry}/{part}" for name, s in secrets.items() if s in text]
print(json.dumps(found))
"""


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _service_pids(hub: Hub) -> dict[str, int]:
    pids = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = _environ(int(entry.name))
        except (OSError, ValueError):
            continue
        if env.get("SANDBOX_DATA") == str(hub.data) and env.get("JUPYTERHUB_SERVICE_NAME"):
            pids[env["JUPYTERHUB_SERVICE_NAME"]] = int(entry.name)
    return pids


def test_a_kernel_reaches_neither_the_hub_nor_another_tenant(make_hub) -> None:  # noqa: F811
    require_root("servers run as their users' own unix accounts only under a root hub")
    hub: Hub = make_hub()
    for user in ("alice", "bob"):
        r = hub.spawn(user, {"image": "base", "slice": "cpu"})
        assert r.status_code in (201, 202), r.text
    for user in ("alice", "bob"):
        hub.wait_ready(user)
    bob_pid = hub.server_pid("bob")
    services = _service_pids(hub)
    assert {"slices", "courses"} <= set(services), services
    proxy_pid = int((hub.data / "proxy.pid").read_text())

    kernel = Kernel(hub, "alice")
    try:
        who = json.loads(
            kernel.check(
                "import json, os, pwd; print(json.dumps([os.getuid(), "
                "pwd.getpwuid(os.getuid()).pw_name, os.environ['HOME']]))"
            )
        )
        assert who[0] != 0 and who[1] == account_name("alice") == "jupyter-alice"
        home = Path(who[2])
        assert home == hub.home("alice")
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        assert home.stat().st_uid == pwd.getpwnam("jupyter-alice").pw_uid
        assert stat.S_IMODE(hub.data.stat().st_mode) == 0o700

        targets = {
            "the admin's password": hub.data / "credentials.json",
            "the hub's database": hub.data / "jupyterhub.sqlite",
            "the ledger": hub.data / "ledger.sqlite",
            "the cookie secret": hub.data / "jupyterhub_cookie_secret",
            "the proxy token": hub.data / "proxy-token",
            "the data folder": hub.data,
            "the hub's environment": f"/proc/{hub.proc.pid}/environ",
            "the proxy's environment": f"/proc/{proxy_pid}/environ",
            "bob's home": hub.home("bob"),
            "bob's server environment": f"/proc/{bob_pid}/environ",
            **{f"the {n} service's environment": f"/proc/{p}/environ" for n, p in services.items()},
        }
        result = json.loads(
            kernel.check(
                PROBE.replace(
                    "__TARGETS__", repr(json.dumps({k: str(v) for k, v in targets.items()}))
                )
            )
        )
        leaked = {
            name: outcome for name, outcome in result.items() if not outcome.startswith("denied")
        }
        assert not leaked, f"alice's kernel could read: {leaked}"

        # The secrets themselves appear in no process's environment or command line
        # that alice can read (her own server's token is hers, so it is not listed).
        secrets = {
            "the admin service token": hub.token,
            "bob's server token": _environ(bob_pid)["JUPYTERHUB_API_TOKEN"],
            "the proxy token": (hub.data / "proxy-token").read_text().strip(),
            "the admin password": json.loads((hub.data / "credentials.json").read_text())[
                "admin_password"
            ],
            **{
                f"the {n} service token": _environ(p)["JUPYTERHUB_API_TOKEN"]
                for n, p in services.items()
            },
        }
        found = json.loads(kernel.check(SCAN.replace("__SECRETS__", repr(json.dumps(secrets)))))
        assert found == [], f"alice's kernel found: {found}"

        # Nor can she signal bob's server or leave her own cgroup.
        denied = kernel.check(
            f"import os, signal\n"
            f"try:\n    os.kill({bob_pid}, signal.SIGKILL); print('killed')\n"
            f"except PermissionError: print('denied')\n"
            "import glob\n"
            "for procs in glob.glob('/sys/fs/cgroup/*/cgroup.procs'):\n"
            "    try:\n"
            "        open(procs, 'w').write(str(os.getpid())); print('escaped', procs)\n"
            "    except OSError: pass\n"
        )
        assert denied.split() == ["denied"], denied
    finally:
        kernel.shutdown()
    assert hub.server("bob")["ready"], "bob's server must be untouched"
    os.kill(bob_pid, 0)
