"""What a refusal is, for the whole project: a stable code from one closed set, the safe
English message the REST API answers, and the facts (plain values) that message is made
from, so the edge can write it in any language (spawners/i18n/refusals.py) and choose its
HTTP status (spawners/refusal_status.py). Pure: no I/O, no language, no HTTP."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is written (Babel's extractor knows this
    name); it is translated where it is shown, never in the core."""
    return message


class RefusalCode(StrEnum):
    """Every code a refusal of the hub, its services or a user's server may carry. Clients
    (and the Korean interface) key on these: a code is never renamed."""

    # The start options (spawners/core/options.py).
    INVALID_OPTIONS = "invalid-options"
    NOT_ALLOWED = "not-allowed"
    # The allocator (spawners/core/allocator.py).
    NO_CAPACITY = "no-capacity"
    NO_SUCH_SLICE = "no-such-slice"
    NOT_OFFERED = "not-offered"
    """No GPU in this inventory can ever hold the slice (e.g. an MPS share on MIG GPUs)."""
    # The limits (spawners/core/policy/limits.py).
    NO_TEAM = "no-team"
    USER_CONCURRENCY = "user-concurrency"
    MEMBER_CONCURRENCY = "member-concurrency"
    TEAM_CONCURRENCY = "team-concurrency"
    MEMBER_BUDGET = "member-budget"
    TEAM_BUDGET = "team-budget"
    IMAGE_MIN_SLICE = "image-min-slice"
    # The queue for a slice (spawners/core/waitlist.py's QueueCode).
    QUEUE_EXPIRED = "queue-expired"
    QUEUE_LEFT = "queue-left"
    # The services and the server extension: a request they cannot take.
    LOGIN_REQUIRED = "login-required"
    MISSING_SCOPE = "missing-scope"
    USERS_ONLY = "users-only"
    """A service's token or an anonymous caller where only a hub user may ask."""
    CROSS_SITE = "cross-site"
    """An action that must come from the hub's own pages came from elsewhere."""
    BAD_REQUEST_BODY = "bad-request-body"
    BAD_QUERY = "bad-query"
    BAD_FOLDER = "bad-folder"
    """A folder of the user's home that cannot be handed in or published as it is."""
    NOT_SET_UP = "not-set-up"
    """A part of the hub this site does not run (no courses service)."""
    # The server's unix account (spawners/backends/unix_accounts.py).
    ACCOUNT_NOT_OURS = "account-not-ours"
    HOME_NOT_A_FOLDER = "home-not-a-folder"
    ACCOUNT_NOT_CREATED = "account-not-created"
    # A start the hub could not carry out (5xx: not the user's doing).
    NOT_CONFIGURED = "not-configured"
    START_CROWDED = "start-crowded"
    START_TIMEOUT = "start-timeout"
    SERVER_EXITED = "server-exited"
    SLICE_NOT_CREATED = "slice-not-created"
    # ... and the hub being away or making no sense to a service (5xx).
    HUB_UNREACHABLE = "hub-unreachable"
    HUB_BAD_ANSWER = "hub-bad-answer"


class Refused:
    """The base of every refusal: ``code``, the English ``message`` (safe to show: no
    paths, no secrets, no stack) and ``params``, the figures and names in it as plain
    values. Subclasses say how the English is made; none carries an HTTP status."""

    code: RefusalCode
    message: str
    params: Mapping[str, Any]
    template: str | None = None
    """The catalogue's msgid the English is ``template % params`` of; None where the
    edge has its own rule for this kind (spawners/i18n/refusals.py)."""


@dataclass(frozen=True)
class TemplatedRefusal(Refused):
    """A refusal whose English is ``template % params``: the template is the catalogue's
    msgid, so the edge writes it in another language without a rule of its own."""

    code: RefusalCode
    template: str = field()  # required: field() hides the base's None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:  # type: ignore[override]
        return self.template % dict(self.params) if self.params else self.template


class RefusalError(Exception, Refused):
    """A refusal written from a template, raised where returning one does not fit (deep
    in a validation or an account's creation); a subclass names its usual code."""

    default_code: RefusalCode

    def __init__(self, template: str, code: RefusalCode | None = None, **params: Any) -> None:
        message = template % params if params else template
        super().__init__(message)
        self.code = code or self.default_code
        self.template = template
        self.message = message
        self.params: dict[str, Any] = params


def queue_ended(code: RefusalCode, slice_name: str, waited_s: float) -> TemplatedRefusal:
    """A queued start that ends without a slice (QUEUE_EXPIRED or QUEUE_LEFT); ``waited_s``
    is the entry's own expiry, kept over restarts."""
    waited = round(waited_s)
    if code is RefusalCode.QUEUE_LEFT:
        template = N_("This start left the queue for a %(slice)s slice.")
    elif waited < 60:
        template = N_(
            "No %(slice)s slice became free within %(seconds)s s, so this start left "
            "the queue. Start again to queue again, or choose a smaller slice."
        )
    else:
        template = N_(
            "No %(slice)s slice became free within %(minutes)s min, so this start left "
            "the queue. Start again to queue again, or choose a smaller slice."
        )
    params = {"slice": slice_name, "minutes": math.ceil(waited / 60), "seconds": waited}
    return TemplatedRefusal(code, template, params)


LOGIN_FIRST = TemplatedRefusal(RefusalCode.LOGIN_REQUIRED, N_("Log in to the hub first."))
BODY_NOT_JSON = TemplatedRefusal(RefusalCode.BAD_REQUEST_BODY, N_("The body must be JSON."))
BODY_NOT_OBJECT = TemplatedRefusal(
    RefusalCode.BAD_REQUEST_BODY, N_("The body must be a JSON object.")
)


NO_SLICE_CONFIGURATION = TemplatedRefusal(
    RefusalCode.NOT_CONFIGURED, N_("This hub has no slice configuration.")
)
SLICE_NOT_CREATED = TemplatedRefusal(
    RefusalCode.SLICE_NOT_CREATED,
    N_("The GPU slice could not be created; try again or pick another slice."),
)


def start_crowded(seconds: float) -> TemplatedRefusal:
    return TemplatedRefusal(
        RefusalCode.START_CROWDED,
        N_(
            "Too many servers are starting: no turn came within %(seconds)s seconds (the "
            "hub's start_wait_timeout). Try again in a few minutes."
        ),
        {"seconds": seconds},
    )


def engine_start_timeout(seconds: float) -> TemplatedRefusal:
    return TemplatedRefusal(
        RefusalCode.START_TIMEOUT,
        N_(
            "The server was not started within %(seconds)s seconds (the hub's "
            "start_timeout; a busy engine may need more)."
        ),
        {"seconds": seconds},
    )


def answer_timeout(seconds: float) -> TemplatedRefusal:
    return TemplatedRefusal(
        RefusalCode.START_TIMEOUT,
        N_(
            "The server did not answer within %(seconds)s seconds (the hub's "
            "http_timeout; a busy machine may need more)."
        ),
        {"seconds": seconds},
    )


def server_exited(status: int) -> TemplatedRefusal:
    return TemplatedRefusal(
        RefusalCode.SERVER_EXITED,
        N_("The server exited while starting (exit status %(status)s)."),
        {"status": status},
    )
