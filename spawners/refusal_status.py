"""The edge of a refusal: the one table from a refusal's code to its HTTP status, and the
tornado error that carries it (English message, code header, the message in the user's
language for the hub's pages). The hub, its services and the server extension all answer
refusals through here; the core's refusals (spawners/core/refusals.py) carry no status."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from tornado import web

from spawners.core.refusals import RefusalCode, Refused
from spawners.i18n import current_language, refusal_text

CODE_HEADER = "X-Sandbox-Code"
"""The header that carries a refusal's stable code; the hub adds it to the REST API's
JSON answer as ``code`` (hub_config/i18n.py)."""

C = RefusalCode
STATUS: Mapping[RefusalCode, int] = {
    # Malformed or not allowed: the request itself is wrong.
    C.INVALID_OPTIONS: 400,
    C.NOT_ALLOWED: 400,
    C.IMAGE_MIN_SLICE: 400,
    C.BAD_REQUEST_BODY: 400,
    C.BAD_QUERY: 400,
    C.BAD_FOLDER: 400,
    # The request was fine; the GPUs are full (or cannot hold it), or its wait ended.
    C.NO_CAPACITY: 409,
    C.NO_SUCH_SLICE: 409,
    C.NOT_OFFERED: 409,
    C.QUEUE_EXPIRED: 409,
    C.QUEUE_LEFT: 409,
    C.ACCOUNT_NOT_OURS: 409,
    C.HOME_NOT_A_FOLDER: 409,
    # This user may not: a team's rule or who they are.
    C.NO_TEAM: 403,
    C.USER_CONCURRENCY: 403,
    C.MEMBER_CONCURRENCY: 403,
    C.TEAM_CONCURRENCY: 403,
    C.MEMBER_BUDGET: 403,
    C.TEAM_BUDGET: 403,
    C.LOGIN_REQUIRED: 403,
    C.MISSING_SCOPE: 403,
    C.USERS_ONLY: 403,
    C.CROSS_SITE: 403,
    C.NOT_SET_UP: 404,
    # The hub could not start the server, or is away: not the user's doing.
    C.NOT_CONFIGURED: 500,
    C.ACCOUNT_NOT_CREATED: 500,
    C.START_CROWDED: 503,
    C.START_TIMEOUT: 500,
    C.SERVER_EXITED: 500,
    C.SLICE_NOT_CREATED: 500,
    C.HUB_UNREACHABLE: 503,
    C.HUB_BAD_ANSWER: 502,
}


def http_status(code: RefusalCode | str) -> int:
    """The HTTP status of a refusal with ``code`` (a KeyError for a code not in the set:
    tests/core/test_refusals.py holds the table to every code)."""
    return STATUS[RefusalCode(code)]


def refused(refusal: Refused) -> web.HTTPError:
    """The HTTP error for a refusal: the English message (the REST API's ``message``),
    its code (a header JupyterHub sends with the error), and the message in the user's
    language for the hub's pages (``jupyterhub_html_message``, shown by the spawn page)."""
    return http_error(refusal.code, refusal.message, refusal_text(refusal, current_language()))


def http_error(code: RefusalCode, english: str, shown: str) -> web.HTTPError:
    """The error for a refusal written elsewhere: its status from the table, ``english``
    for the API, ``shown`` (the user's language) for the hub's pages."""
    error = web.HTTPError(http_status(code), english)
    error.headers = {CODE_HEADER: str(code)}
    safe_code = escape(str(code))
    # The code is shown too: it is what a user quotes to the hub's administrators.
    error.jupyterhub_html_message = (
        f'<span data-code="{safe_code}">{escape(shown)}</span>'
        f' <code class="sandbox-refusal-code">{safe_code}</code>'
    )
    return error


def refusal_code_of(error: BaseException | None) -> str | None:
    """The code an error made by ``refused``/``http_error`` carries, else None."""
    headers = getattr(error, "headers", None)
    return headers.get(CODE_HEADER) if isinstance(headers, dict) else None


def with_code(
    handler: web.RequestHandler, error: BaseException | None, body: dict[str, Any]
) -> dict[str, Any]:
    """A service's JSON error ``body`` with the refusal's code added, in the body and in
    the ``X-Sandbox-Code`` header, as the hub's own REST API answers (write_error calls
    this: tornado clears the headers before it)."""
    code = refusal_code_of(error)
    if code is not None:
        handler.set_header(CODE_HEADER, code)
        body = {**body, "code": code}
    return body
