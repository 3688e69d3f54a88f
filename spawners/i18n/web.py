"""Languages on the web: a tornado request's language, the cookie that keeps a switch,
and pages rendered from jinja templates with the request's catalogue (the hub's
services use these; the hub itself, hub_config/i18n.py)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale
from tornado.httputil import HTTPServerRequest

from .catalogue import SOURCE_LANGUAGE, available_languages, translations
from .negotiation import COOKIE, QUERY, choose_language

COOKIE_MAX_AGE_S = 365 * 24 * 3600


def request_language(request: HTTPServerRequest, default: str) -> tuple[str, bool]:
    """The request's language, and whether the request switched to it (``?lang=``)."""
    asked = request.query_arguments.get(QUERY, [b""])[-1].decode("utf-8", "replace")
    cookie = request.cookies.get(COOKIE)
    language = choose_language(
        query=asked or None,
        cookie=cookie.value if cookie else None,
        accept_language=request.headers.get("Accept-Language"),
        default=default,
    )
    return language, bool(asked) and language == asked


def language_cookie(language: str) -> str:
    """The Set-Cookie value that keeps a switch (path /: the hub, its services and the
    users' servers share the choice)."""
    return f"{COOKIE}={language}; Path=/; Max-Age={COOKIE_MAX_AGE_S}; SameSite=Lax"


def language_names() -> list[tuple[str, str]]:
    """Each language the hub has, named in itself (English, 한국어)."""
    return [(lang, Locale.parse(lang).get_display_name(lang)) for lang in available_languages()]


def script_messages(language: str, msgids: Iterable[str] | None = None) -> dict[str, str]:
    """msgid -> translation, for a page's script (``_()`` in static/*.js); empty in
    English, whose messages are the msgids."""
    if language == SOURCE_LANGUAGE:
        return {}
    catalog = translations(language)
    wanted = msgids if msgids is not None else getattr(catalog, "_catalog", {}).keys()
    out = {}
    for msgid in wanted:
        if isinstance(msgid, str) and msgid:
            translated = catalog.gettext(msgid)
            if translated != msgid:
                out[msgid] = translated
    return out


def template_environment(folder: Path) -> jinja2.Environment:
    """Templates that translate with ``{% trans %}`` and ``_()`` (given at render)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
    )


def render(env: jinja2.Environment, name: str, language: str, **values: Any) -> str:
    t = translations(language)
    return env.get_template(name).render(
        _=t.gettext,
        gettext=t.gettext,
        ngettext=t.ngettext,
        language=language,
        languages=language_names(),
        **values,
    )
