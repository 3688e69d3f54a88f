"""A real OpenID Connect provider (npm ``oidc-provider``) for tests, and the real
authorization-code login through it, driven with requests.

``OidcProvider`` runs ``tests/support/oidc_provider.mjs`` on its own free port with one
static client; a user's groups live in a JSON file the provider reads at every login, so
``set_groups`` is a group change at the IdP. Where node or the npm package is missing the
tests skip with the reason; under CI (``CI=true``) they fail instead."""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlparse

import requests

from tests.support.hub import REPO, Hub, free_port_block, wait_for, write_site
from tests.support.requirements import missing

SCRIPT = REPO / "tests" / "support" / "oidc_provider.mjs"
PACKAGE = REPO / "node_modules" / "oidc-provider"
CLIENT_ID = "sandbox-hub"


def require_provider() -> None:
    """Skip (fail under CI) unless node and the oidc-provider package are installed."""
    absent = []
    if shutil.which("node") is None:
        absent.append("node")
    if not (PACKAGE / "package.json").exists():
        absent.append("the npm package oidc-provider (run `make setup`)")
    if absent:
        missing(f"a real OIDC provider needs {' and '.join(absent)}")


class OidcProvider:
    def __init__(self, workdir: Path, avoid: range = range(0)) -> None:
        self.workdir = workdir
        self.port = free_port_block(1)
        while self.port in avoid:  # ports a hub picked but has not bound yet
            self.port = free_port_block(1)
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_secret = secrets.token_urlsafe(24)
        self.users_file = workdir / "idp-users.json"
        self.log_path = workdir / "idp.log"
        self.redirect_uris: list[str] = []
        self.proc: subprocess.Popen | None = None
        self.set_users({})

    def secret_file(self) -> Path:
        path = self.workdir / "oauth-client-secret"
        path.write_text(self.client_secret)
        path.chmod(0o600)
        return path

    def set_users(self, users: dict[str, list[str]]) -> None:
        doc = {name: {"groups": groups} for name, groups in users.items()}
        tmp = self.users_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc))
        tmp.replace(self.users_file)  # atomic: the provider never reads half a file

    def set_groups(self, user: str, groups: list[str]) -> None:
        doc = json.loads(self.users_file.read_text())
        doc[user] = {"groups": groups}
        self.set_users({name: entry["groups"] for name, entry in doc.items()})

    def start(self, timeout: float = 30) -> OidcProvider:
        config = self.workdir / "idp-config.json"
        config.write_text(
            json.dumps(
                {
                    "port": self.port,
                    "issuer": self.issuer,
                    "users_file": str(self.users_file),
                    "clients": [
                        {
                            "client_id": CLIENT_ID,
                            "client_secret": self.client_secret,
                            "redirect_uris": self.redirect_uris,
                        }
                    ],
                }
            )
        )
        log = open(self.log_path, "ab")  # noqa: SIM115  (kept open for the child's lifetime)
        self.proc = subprocess.Popen(
            ["node", str(SCRIPT), str(config)],
            cwd=str(REPO),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(self._answers, timeout, "the OIDC provider's discovery document")
        return self

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"the OIDC provider exited:\n{self.log_path.read_text()[-3000:]}")
        try:
            url = f"{self.issuer}/.well-known/openid-configuration"
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
_PROMPT = re.compile(r'name="prompt" value="([a-z]+)"')


def oidc_login(
    hub_url: str, issuer: str, user: str, session: requests.Session | None = None
) -> tuple[requests.Session, requests.Response]:
    """Log ``user`` in through the hub's "Sign in with ..." button: the IdP's login page
    (any password), its consent page, the code exchange. Returns the session and the
    hub's last response (200 when logged in; 403 with the refusal page otherwise)."""
    s = session or requests.Session()
    r = s.get(f"{hub_url}/hub/oauth_login", timeout=30)
    idp = urlparse(issuer).netloc
    for _ in range(6):  # login, consent, and nothing else
        if urlparse(r.url).netloc != idp:
            return s, r
        match = _FORM.search(r.text)
        if match is None:
            raise AssertionError(f"no form on the IdP page {r.url}: {r.text[:500]}")
        action, body = html.unescape(match[1]), match[2]
        prompt = _PROMPT.search(body)
        data = {"prompt": prompt[1] if prompt else "consent"}
        if data["prompt"] == "login":
            data.update(login=user, password="any password will do")
        r = s.post(urljoin(r.url, action), data=data, timeout=30)
    raise AssertionError(f"the login flow did not come back to the hub: {r.url}")


def teams_site(
    hub_port: int,
    provider: OidcProvider,
    teams: str,
    culler: str = "{check_every: 1}",
) -> str:
    """A site file: one simulated H100, OIDC login through ``provider``, ``teams``."""
    return f"""
site: {{name: Teams test hub}}
hub:
  start_timeout: 120
  http_timeout: 90
  admin_users: [ops]
  authenticator:
    kind: oidc
    login_service: Test Data Center account
    client_id: {CLIENT_ID}
    client_secret_file: {provider.secret_file()}
    callback_url: http://127.0.0.1:{hub_port}/hub/oauth_callback
    oidc: {{issuer: "{provider.issuer}"}}
  culler: {culler}
gpus: {{source: simulated, simulated_count: 1}}
teams:
{teams}
"""


@contextlib.contextmanager
def teams_hub(
    tmp: Path, teams: str, users: dict[str, list[str]], culler: str = "{check_every: 1}"
) -> Iterator[tuple[Hub, OidcProvider]]:
    """A running IdP with ``users`` and a hub that logs in through it; both always stopped."""
    require_provider()
    hub = Hub(tmp / "hub")
    provider = OidcProvider(tmp, avoid=range(hub.port, hub.port + 4))
    provider.redirect_uris = [f"{hub.url}/hub/oauth_callback"]
    provider.set_users(users)
    try:
        provider.start()
        hub.site = write_site(tmp / "site.yaml", teams_site(hub.port, provider, teams, culler))
        hub.start()
        yield hub, provider
    finally:
        hub.stop()
        provider.stop()
