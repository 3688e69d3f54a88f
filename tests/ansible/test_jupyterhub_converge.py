"""Converge the jupyterhub role for real on this machine, into a temporary root, twice;
then verify what it installed: the venv, the site file, the units, and the hub itself
started with the unit's own command and environment, behind the role's nginx with TLS.

Nothing here runs under systemd (there is none): the units are checked with
`systemd-analyze verify` and their ExecStart is run by the test."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import urllib3

from tests.support.hub import free_port_block, leftover_processes, wait_for

from .conftest import EXAMPLE_SITE, PLAYBOOKS, REPO, PlaybookRun, require, run_playbook
from .units import read_env_file, read_unit

pytestmark = pytest.mark.integration


@dataclass
class Converged:
    root: Path
    vars: dict
    first: PlaybookRun
    second: PlaybookRun

    def path(self, var: str) -> Path:
        return Path(self.vars[var])


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    """A throwaway certificate standing in for the operator's (cryptography ships with
    ansible-core)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hub.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hub.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "fullchain.pem", tmp / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def converged(tmp_path_factory) -> Converged:
    require("npm", "the role installs configurable-http-proxy from npm")
    require("node", "configurable-http-proxy runs on Node.js")
    tmp = tmp_path_factory.mktemp("jupyterhub-converge")
    # The temporary root stands for /: the users' own accounts must be able to reach the
    # installed venv there, as on a real host (pytest's temp folders are 0700).
    for folder in (tmp, *tmp.parents):
        if folder.stat().st_uid == os.geteuid() and str(folder).startswith(tempfile.gettempdir()):
            folder.chmod(folder.stat().st_mode | 0o011)
    root = tmp / "root"
    cert, key = _self_signed(tmp)
    ipv6 = Path("/proc/net/if_inet6").exists() and bool(Path("/proc/net/if_inet6").read_text())
    variables = {
        "ansible_python_interpreter": sys.executable,
        "jupyterhub_prefix": str(root / "opt/ai-sandbox-hub"),
        "jupyterhub_etc_dir": str(root / "etc/jupyterhub"),
        "jupyterhub_data_dir": str(root / "var/lib/jupyterhub"),
        "jupyterhub_systemd_dir": str(root / "etc/systemd/system"),
        "jupyterhub_tls_dir": str(root / "etc/ssl/jupyterhub"),
        "jupyterhub_nginx_conf_dir": str(root / "etc/nginx/conf.d"),
        # This checkout is the project to install; packages and systemd are the host's.
        "jupyterhub_src_method": "path",
        "jupyterhub_src_dir": str(REPO),
        "jupyterhub_manage_packages": False,
        "jupyterhub_manage_services": False,
        "jupyterhub_site_file": str(EXAMPLE_SITE),
        "jupyterhub_port": free_port_block(4),
        "jupyterhub_nginx_http_port": _free_port(),
        "jupyterhub_nginx_https_port": _free_port(),
        "jupyterhub_nginx_ipv6": ipv6,
        "jupyterhub_server_name": "hub.test",
        "jupyterhub_tls_certificate_src": str(cert),
        "jupyterhub_tls_key_src": str(key),
        # Stand-ins for the Vault values.
        "jupyterhub_cookie_secret": secrets.token_hex(32),
        "jupyterhub_crypt_key": secrets.token_hex(32),
        "jupyterhub_admin_token": secrets.token_hex(32),
        "jupyterhub_idle_culler_enabled": True,
        "jupyterhub_idle_culler_every": 2,
    }
    variables["jupyterhub_venv_dir"] = variables["jupyterhub_prefix"] + "/venv"
    variables["jupyterhub_proxy_dir"] = variables["jupyterhub_prefix"] + "/proxy"
    vars_file = tmp / "vars.json"
    vars_file.write_text(json.dumps(variables))
    playbook = PLAYBOOKS / "converge_jupyterhub.yml"
    first = run_playbook(playbook, tmp, "localhost,", "-e", f"@{vars_file}")
    second = run_playbook(playbook, tmp, "localhost,", "-e", f"@{vars_file}")
    return Converged(root, variables, first, second)


def test_second_converge_changes_nothing(converged):
    assert converged.first.changed > 0
    assert converged.second.failed == 0
    assert converged.second.changed == 0, converged.second.tail


def test_venv_is_made_by_the_system_python_and_works(converged):
    venv = converged.path("jupyterhub_venv_dir")
    cfg = (venv / "pyvenv.cfg").read_text()
    assert "home = /usr/bin" in cfg, cfg
    out = subprocess.run(
        [
            str(venv / "bin/python"),
            "-c",
            "import jupyterhub, hub_config, spawners; print(jupyterhub.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    assert out.stdout.strip() == "6.1.1"
    proxy = converged.path("jupyterhub_proxy_dir") / "node_modules/.bin/configurable-http-proxy"
    version = subprocess.run([str(proxy), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == converged_proxy_version()


def test_the_capacity_charts_library_is_beside_the_proxy(converged):
    from extensions.slices_service.chartlib import find_chart_js, node_modules_folders

    modules = converged.path("jupyterhub_proxy_dir") / "node_modules"
    # The slices service looks beside the proxy on the unit's PATH.
    assert modules in node_modules_folders(path=str(modules / ".bin"))
    found = find_chart_js([modules])
    assert found is not None, f"no Chart.js in {modules}"
    version = json.loads((REPO / "package.json").read_text())["dependencies"]["chart.js"]
    assert found.read_text().startswith(f"/*!\n * Chart.js v{version}\n")


def converged_proxy_version() -> str:
    import yaml

    defaults = yaml.safe_load((REPO / "ansible/roles/jupyterhub/defaults/main.yml").read_text())
    return defaults["jupyterhub_proxy_version"]


def test_installed_site_file_validates_with_the_installed_loader(converged):
    venv = converged.path("jupyterhub_venv_dir")
    site = converged.path("jupyterhub_etc_dir") / "site.yaml"
    code = (
        "import json, sys; from hub_config.site import load_site; "
        "s = load_site(sys.argv[1], env={}); "
        "print(json.dumps([n['name'] for n in s['gpus']['nodes']]))"
    )
    out = subprocess.run(
        [str(venv / "bin/python"), "-c", code, str(site)],
        capture_output=True,
        text=True,
        cwd="/",
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == ["gpu01", "gpu02"]


def test_secrets_are_private(converged):
    etc = converged.path("jupyterhub_etc_dir")
    secrets_env = read_env_file(etc / "secrets.env")
    assert secrets_env["JPY_COOKIE_SECRET"] == converged.vars["jupyterhub_cookie_secret"]
    assert secrets_env["JUPYTERHUB_CRYPT_KEY"] == converged.vars["jupyterhub_crypt_key"]
    modes = {
        etc / "secrets.env": 0o640,
        etc / "idle-culler.env": 0o600,
        converged.path("jupyterhub_tls_dir") / "privkey.pem": 0o600,
        converged.path("jupyterhub_data_dir"): 0o700,
    }
    for path, mode in modes.items():
        assert path.stat().st_mode & 0o777 == mode, path


def test_units_pass_systemd_analyze_verify(converged):
    analyze = require("systemd-analyze", "checks the role's unit files")
    units = converged.path("jupyterhub_systemd_dir")
    for name in ("jupyterhub.service", "jupyterhub-idle-culler.service"):
        proc = subprocess.run(
            [analyze, "verify", str(units / name)], capture_output=True, text=True, check=False
        )
        # Unknown keys are only warnings for systemd: any remark about our unit fails too.
        remarks = [line for line in proc.stderr.splitlines() if name in line]
        assert proc.returncode == 0 and not remarks, proc.stderr


def test_hub_unit_runs_the_project_config_with_the_contract_environment(converged):
    unit = read_unit(converged.path("jupyterhub_systemd_dir") / "jupyterhub.service")
    venv = converged.path("jupyterhub_venv_dir")
    assert unit.exec_start == [
        str(venv / "bin/jupyterhub"),
        "-f",
        str(REPO / "hub_config/jupyterhub_config.py"),
    ]
    assert unit.environment["SANDBOX_PORT"] == str(converged.vars["jupyterhub_port"])
    assert unit.environment["SANDBOX_DATA"] == converged.vars["jupyterhub_data_dir"]
    assert unit.environment["SANDBOX_SITE"] == str(
        converged.path("jupyterhub_etc_dir") / "site.yaml"
    )


class Process:
    """A process started the way systemd would (command, environment, folder)."""

    def __init__(self, cmd, env, cwd, log: Path):
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])

    def stop(self) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _unit_env(unit) -> dict[str, str]:
    # systemd starts services with a small environment of its own, not the caller's.
    return {"HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8", **unit.environment}


@pytest.fixture(scope="module")
def running_hub(converged, tmp_path_factory):
    unit = read_unit(converged.path("jupyterhub_systemd_dir") / "jupyterhub.service")
    logs = tmp_path_factory.mktemp("hub-logs")
    hub = Process(unit.exec_start, _unit_env(unit), unit.working_directory, logs / "hub.log")
    url = f"http://127.0.0.1:{converged.vars['jupyterhub_port']}"

    def answers():
        if not hub.alive():
            raise AssertionError(f"the installed hub exited:\n{hub.tail()}")
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{url}/hub/api", timeout=2).status_code == 200
        return False

    try:
        wait_for(answers, 90, "the installed hub's API")
        yield hub, url
    finally:
        hub.stop()
        for pid in leftover_processes(converged.path("jupyterhub_data_dir")):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def test_installed_hub_answers_its_api_with_the_vaulted_secrets(running_hub, converged):
    hub, url = running_hub
    assert requests.get(f"{url}/hub/api", timeout=5).json()["version"] == "6.1.1"
    token = converged.vars["jupyterhub_admin_token"]
    me = requests.get(f"{url}/hub/api/user", headers={"Authorization": f"token {token}"}, timeout=5)
    assert me.status_code == 200, me.text
    assert me.json()["name"] == "sandbox-admin" and "admin" in me.json()["roles"]
    assert "Loading cookie_secret from env[JPY_COOKIE_SECRET]" in hub.log.read_text()


def test_installed_hub_serves_the_deployed_site(running_hub, converged):
    _, url = running_hub
    token = converged.vars["jupyterhub_admin_token"]

    def inventory():
        with contextlib.suppress(requests.RequestException):
            r = requests.get(
                f"{url}/services/slices/api/inventory",
                headers={"Authorization": f"token {token}"},
                timeout=5,
            )
            return r.json() if r.status_code == 200 else None
        return None

    gpus = wait_for(inventory, 60, "the slices service")["gpus"]
    # The example site declares 5 GPUs on gpu01 and gpu02.
    assert len(gpus) == 5
    assert {g.get("node") for g in gpus} <= {"gpu01", "gpu02", None}


def test_idle_culler_unit_reaches_the_hub_with_its_token(running_hub, converged, tmp_path):
    hub, _ = running_hub
    unit = read_unit(converged.path("jupyterhub_systemd_dir") / "jupyterhub-idle-culler.service")
    culler = Process(unit.exec_start, _unit_env(unit), unit.working_directory, tmp_path / "c.log")
    try:
        # The culler lists users through the proxy as the sandbox-admin service.
        wait_for(
            lambda: "GET /hub/api/users" in hub.log.read_text() or not culler.alive(),
            30,
            "the idle culler's first round",
        )
        assert culler.alive(), culler.tail()
        lines = [ln for ln in hub.log.read_text().splitlines() if "GET /hub/api/users" in ln]
        assert any(" 200 " in ln and "sandbox-admin" in ln for ln in lines), "\n".join(lines)
    finally:
        culler.stop()


def test_nginx_serves_the_hub_over_tls(running_hub, converged, tmp_path):
    nginx = require("nginx", "the role puts nginx with TLS in front of the hub")
    conf = tmp_path / "nginx.conf"
    temp = {n: tmp_path / n for n in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    # A stand-in for /etc/nginx/nginx.conf: includes the role's file like Debian's does.
    conf.write_text(
        "user root;\ndaemon off;\nworker_processes 1;\n"
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\nhttp {\n"
        f"  access_log {tmp_path}/access.log;\n"
        + "".join(f"  {n}_temp_path {p};\n" for n, p in temp.items()).replace(
            "body_temp_path", "client_body_temp_path"
        )
        + f"  include {converged.path('jupyterhub_nginx_conf_dir')}/*.conf;\n}}\n"
    )
    check = subprocess.run(
        [nginx, "-t", "-e", "stderr", "-c", str(conf)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stderr
    server = Process(
        [nginx, "-e", "stderr", "-c", str(conf)], None, str(tmp_path), tmp_path / "n.log"
    )
    https = f"https://127.0.0.1:{converged.vars['jupyterhub_nginx_https_port']}"
    try:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

        def through_tls():
            if not server.alive():
                raise AssertionError(f"nginx exited:\n{server.tail()}")
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{https}/hub/api", verify=False, timeout=3)
            return None

        r = wait_for(through_tls, 30, "nginx")
        assert r.status_code == 200 and r.json()["version"] == "6.1.1"
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        # The certificate served is the operator's.
        served = ssl.get_server_certificate(
            ("127.0.0.1", converged.vars["jupyterhub_nginx_https_port"])
        )
        assert (
            served.strip()
            == Path(converged.vars["jupyterhub_tls_certificate_src"]).read_text().strip()
        )
        plain = f"http://127.0.0.1:{converged.vars['jupyterhub_nginx_http_port']}/hub/"
        redirect = requests.get(plain, allow_redirects=False, timeout=5)
        assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")
    finally:
        server.stop()


def test_systemctl_stop_ends_the_hub_within_seconds_and_spares_the_servers(converged, tmp_path):
    """The unit's stop contract (docs/operations.md). `systemctl stop` with
    KillMode=process sends SIGTERM to the hub alone, never to the users' servers (local
    servers are the hub's children in the unit's cgroup; the hub leaves them running and
    the next start re-attaches them, tests/integration/test_stop.py); the hub then ends
    its services and its proxy well within TimeoutStopSec."""
    unit = read_unit(converged.path("jupyterhub_systemd_dir") / "jupyterhub.service")
    assert unit.keys["KillMode"] == ["process"]
    assert unit.keys["Delegate"] == ["yes"]
    assert "ExecStop" not in unit.keys  # nothing else signals the unit's processes
    stop_timeout = int(unit.keys["TimeoutStopSec"][0])
    assert stop_timeout >= 20

    # The unit's command and environment, on ports and a data folder of its own (the
    # module's hub may still run).
    data = tmp_path / "data"
    env = {**_unit_env(unit), "SANDBOX_PORT": str(free_port_block(4)), "SANDBOX_DATA": str(data)}
    # As the converge fixture does: the users' accounts must reach the installed venv
    # (another pytest session may have made pytest's base folder private again).
    for folder in converged.root.parents:
        if folder.stat().st_uid == os.geteuid() and str(folder).startswith(tempfile.gettempdir()):
            folder.chmod(folder.stat().st_mode | 0o011)
    url = f"http://127.0.0.1:{env['SANDBOX_PORT']}"
    hub = Process(unit.exec_start, env, unit.working_directory, tmp_path / "hub.log")

    def serving():
        if not hub.alive():
            raise AssertionError(f"the hub exited:\n{hub.tail()}")
        with contextlib.suppress(requests.RequestException):
            r = requests.get(f"{url}/services/slices/api/inventory", timeout=2)
            return r.status_code in (200, 302, 403)
        return False

    try:
        wait_for(serving, 90, "the hub and its slices service")
        started = time.monotonic()
        hub.proc.send_signal(signal.SIGTERM)  # what KillMode=process sends, and only here
        hub.proc.wait(timeout=stop_timeout)
        wait_for(lambda: not leftover_processes(data), 10, "the hub's services and proxy")
        assert time.monotonic() - started < 10, hub.tail()
        assert "Leaving single-user servers running" in hub.log.read_text()
    finally:
        hub.stop()
        for pid in leftover_processes(data):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
