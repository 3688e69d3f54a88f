"""The embedded default's login: JupyterHub's NativeAuthenticator (personal accounts,
sign-up approved by an admin), with the first admin's account made from the password
generated on first run, so nobody can sign up as the admin before the operator does."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import urlparse

import bcrypt
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator import handlers as native_handlers
from nativeauthenticator.orm import UserInfo
from tornado import web
from tornado.escape import url_escape
from tornado.httputil import url_concat
from traitlets import Unicode

from spawners.core.refusals import RefusalCode, TemplatedRefusal
from spawners.i18n import N_
from spawners.refusal_status import refused

CROSS_SITE_APPROVAL = TemplatedRefusal(
    RefusalCode.CROSS_SITE, N_("Approve sign-ups from the hub's own authorization page.")
)


def _same_origin_only(handler: web.RequestHandler) -> None:
    """Approving or discarding a sign-up is a GET link in NativeAuthenticator's admin page:
    refuse it unless the browser says the click came from the hub's own pages, so a link
    elsewhere (an e-mail, another site) cannot make an admin's browser approve someone."""
    site = handler.request.headers.get("Sec-Fetch-Site")
    if site is not None:
        # "none": typed or bookmarked by the admin, which no other site can trigger.
        if site not in ("same-origin", "none"):
            raise refused(CROSS_SITE_APPROVAL)
        return
    referer = urlparse(handler.request.headers.get("Referer", ""))
    if referer.netloc != handler.request.host:
        raise refused(CROSS_SITE_APPROVAL)


class ToggleAuthorizationHandler(native_handlers.ToggleAuthorizationHandler):
    async def get(self, slug: str) -> None:
        _same_origin_only(self)
        await super().get(slug)


class DiscardHandler(native_handlers.DiscardHandler):
    async def get(self, user_name: str) -> None:
        _same_origin_only(self)
        await super().get(user_name)


class LoginHandler(native_handlers.LoginHandler):
    """NativeAuthenticator 1.3's login page on JupyterHub 6: the hub renders a failed
    login's error page synchronously (``sync=True``) and no longer has ``statsd``."""

    def _render(self, login_error=None, username=None, sync=False, **_ignored):
        return self.render_template(
            "native-login.html",
            sync=sync,
            next=url_escape(self.get_argument("next", default="")),
            username=username,
            login_error=login_error,
            custom_html=self.authenticator.custom_html,
            login_url=self.settings["login_url"],
            enable_signup=self.authenticator.enable_signup,
            two_factor_auth=self.authenticator.allow_2fa,
            authenticator_login_url=url_concat(
                self.authenticator.login_url(self.hub.base_url),
                {"next": self.get_argument("next", "")},
            ),
        )

    async def post(self) -> None:
        data = {arg: self.get_argument(arg, strip=False) for arg in self.request.arguments}
        user = await self.login_user(data)
        if user:
            self._jupyterhub_user = user
            self.redirect(self.get_next_url(user))
            return
        error = "Invalid username or password."
        info = self.authenticator.get_user(data.get("username", ""))
        password = data.get("password", "")
        if info is not None and not info.is_authorized:
            valid = await asyncio.get_running_loop().run_in_executor(
                None, bcrypt.checkpw, password.encode(), info.password
            )
            if valid:
                error = "Your sign-up has not been approved by an administrator yet."
        self.finish(await self._render(login_error=error, username=data.get("username")))


REPLACED = {
    native_handlers.LoginHandler: LoginHandler,
    native_handlers.ToggleAuthorizationHandler: ToggleAuthorizationHandler,
    native_handlers.DiscardHandler: DiscardHandler,
}


class SandboxNativeAuthenticator(NativeAuthenticator):
    first_admin_credentials = Unicode(
        "",
        config=True,
        help="""JSON file with `admin_user` and `admin_password` (the data folder's
        credentials.json, mode 0600): that admin's account exists, approved, from the
        hub's first start on. An account of that name made earlier is left as it is.""",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.first_admin_credentials:
            self._ensure_first_admin(Path(self.first_admin_credentials))

    async def authenticate(self, handler, data):
        """NativeAuthenticator's check, with the bcrypt comparison (a quarter of a second
        of CPU by design) in a worker thread: a class logging in at once must not stall
        the hub's event loop. The database is read on the loop's own thread."""
        username = self.normalize_username(data.get("username", ""))
        password = data.get("password", "")
        user = self.get_user(username)
        if not user or (self.allowed_failed_logins and self.is_blocked(username)):
            return None
        hashed = user.password
        valid = await asyncio.get_running_loop().run_in_executor(
            None, bcrypt.checkpw, password.encode(), hashed
        )
        checks = [user.is_authorized, valid]
        if user.has_2fa:
            checks.append(user.is_valid_token(data.get("2fa")))
        if all(checks):
            self.successful_login(username)
            return username
        self.add_login_attempt(username)
        return None

    def get_handlers(self, app):
        return [
            (route, REPLACED.get(handler, handler)) for route, handler in super().get_handlers(app)
        ]

    def _ensure_first_admin(self, path: Path) -> None:
        creds = json.loads(path.read_text(encoding="utf-8"))
        name = self.normalize_username(creds["admin_user"])
        if UserInfo.find(self.db, name) is not None:
            return
        hashed = bcrypt.hashpw(creds["admin_password"].encode(), bcrypt.gensalt())
        self.db.add(UserInfo(username=name, password=hashed, is_authorized=True))
        self.db.commit()
        self.log.info("created the first admin's login %r", name)
