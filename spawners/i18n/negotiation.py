"""Which language a request gets: the ``lang`` query parameter (a switch on the page,
remembered in the ``sandbox-lang`` cookie), else that cookie, else the browser's
``Accept-Language``, else the site's default (``site.language``).

``current_language()`` is the language of the request being handled: the hub and the
services set it once per request (``use_language``), and what renders that request (the
spawn form, a refusal, a template) reads it."""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterable, Sequence

from babel import negotiate_locale

from .catalogue import SOURCE_LANGUAGE, available_languages

COOKIE = "sandbox-lang"
"""The cookie that keeps a user's choice (path ``/``: the hub, the services and the
user's servers all see it)."""
QUERY = "lang"
"""The query parameter that switches the language (``?lang=ko``)."""

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "sandbox_language", default=None
)
_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$|^\*$")


def parse_accept_language(header: str | None) -> list[str]:
    """The language tags of an ``Accept-Language`` header, most preferred first
    (RFC 9110: ``q`` weights, ``q=0`` means not acceptable). Malformed parts are skipped."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or not _TAG.match(tag):
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = -1.0
        if 0.0 < q <= 1.0:
            weighted.append((-q, index, tag))
    return [tag for _, _, tag in sorted(weighted)]


def _supported(tag: str | None, available: Sequence[str]) -> str | None:
    if not tag:
        return None
    tag = tag.strip().replace("_", "-")
    # "ko-KR" finds "ko"; babel also knows aliases ("kor" is not a tag we take).
    return negotiate_locale([tag, tag.split("-")[0]], list(available), sep="-") or (
        tag.split("-")[0].lower() if tag.split("-")[0].lower() in available else None
    )


def choose_language(
    *,
    query: str | None = None,
    cookie: str | None = None,
    accept_language: str | None = None,
    default: str = SOURCE_LANGUAGE,
    available: Iterable[str] | None = None,
) -> str:
    """The language for a request, from the strongest signal that names one we have."""
    langs = tuple(available or available_languages())
    for choice in (query, cookie):
        found = _supported(choice, langs)
        if found:
            return found
    for tag in parse_accept_language(accept_language):
        if tag == "*":
            break
        found = _supported(tag, langs)
        if found:
            return found
    return _supported(default, langs) or SOURCE_LANGUAGE


def current_language() -> str:
    """The language of the request being handled; English outside a request."""
    return _current.get() or SOURCE_LANGUAGE


def use_language(language: str) -> contextvars.Token:
    """Make ``language`` the current one for this request (and the tasks it starts)."""
    return _current.set(language)
