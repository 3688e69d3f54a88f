"""The hub's own pages in the user's language, and refusal codes in the REST API.

- Every request's language is chosen before its handler runs (spawners.i18n: ``?lang=``,
  the ``sandbox-lang`` cookie, ``Accept-Language``, then ``site.language``), by a tornado
  output transform: tornado makes one per request before the handler starts, so what the
  handler renders (the templates, the spawn form, a refusal) and the spawn it starts see
  the language. A ``?lang=`` switch is remembered in the cookie.
- JupyterHub's jinja environment gets ``jinja2.ext.i18n``; the templates in
  hub_config/templates (``template_paths``, before JupyterHub's own) translate with
  ``{% trans %}`` and ``_()`` from the catalogue of the request's language.
- A refusal (spawners.mixin.refused) carries its code in a header; the transform adds it
  to the JSON error body as ``code``, beside JupyterHub's English ``message``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tornado.httputil import HTTPHeaders, HTTPServerRequest
from tornado.web import GZipContentEncoding, OutputTransform
from traitlets.config import LazyConfigValue

from spawners.i18n import N_, current_language, translations, use_language
from spawners.i18n.web import language_cookie, language_names, request_language
from spawners.refusal_status import CODE_HEADER

HTTP_REASONS = (
    N_("Bad Request"),
    N_("Forbidden"),
    N_("Not Found"),
    N_("Conflict"),
    N_("Too Many Requests"),
    N_("Internal Server Error"),
    N_("Service Unavailable"),
)
"""The HTTP reasons the error page names most often (error.html translates them)."""

TEMPLATES = Path(__file__).resolve().parent / "templates"


def with_code(headers: HTTPHeaders, chunk: bytes) -> bytes:
    """A JSON error body with the refusal's code added (unchanged when it has one, or is
    not a JSON object with a message)."""
    code = headers.get(CODE_HEADER)
    if not code or not headers.get("Content-Type", "").startswith("application/json"):
        return chunk
    try:
        body = json.loads(chunk)
    except ValueError:
        return chunk
    if not isinstance(body, dict) or "message" not in body or "code" in body:
        return chunk
    body["code"] = code
    return json.dumps(body).encode()


def language_transform(default: str) -> type[OutputTransform]:
    """The transform class for a hub whose site language is ``default``."""

    class LanguageTransform(OutputTransform):
        site_language = default

        def __init__(self, request: HTTPServerRequest) -> None:
            super().__init__(request)
            self.language, self.switched = request_language(request, self.site_language)
            use_language(self.language)

        def transform_first_chunk(
            self, status_code: int, headers: HTTPHeaders, chunk: bytes, finishing: bool
        ) -> tuple[int, HTTPHeaders, bytes]:
            if self.switched:
                headers.add("Set-Cookie", language_cookie(self.language))
            if finishing and status_code >= 400:
                changed = with_code(headers, chunk)
                if changed is not chunk:
                    chunk = changed
                    headers["Content-Length"] = str(len(chunk))
            return status_code, headers, chunk

    return LanguageTransform


def _gettext(user: Any) -> Any:
    return translations(current_language()).gettext


def _ngettext(user: Any) -> Any:
    return translations(current_language()).ngettext


def _language(user: Any) -> str:
    return current_language()


def configure_i18n(c: Any, default: str, *, native_login: bool) -> None:
    """Set the traits: the transform, the jinja extension, the templates and their
    variables (``_``, ``gettext``, ``ngettext``: the request's catalogue;
    ``sandbox_language``, ``sandbox_languages``, ``sandbox_native_login``)."""
    settings = _configured(c, "tornado_settings", {})
    transforms = [language_transform(default)]
    # Passing transforms replaces tornado's default list, which has gzip when asked for.
    if settings.get("compress_response") or settings.get("gzip"):
        transforms.append(GZipContentEncoding)
    c.JupyterHub.tornado_settings.update({"transforms": transforms})
    extensions = list(_configured(c, "jinja_environment_options", {}).get("extensions", []))
    c.JupyterHub.jinja_environment_options.update({"extensions": [*extensions, "jinja2.ext.i18n"]})
    c.JupyterHub.template_paths = [str(TEMPLATES), *_configured_paths(c)]
    c.JupyterHub.template_vars.update(
        {
            "_": _gettext,
            "gettext": _gettext,
            "ngettext": _ngettext,
            "sandbox_language": _language,
            "sandbox_languages": language_names(),
            "sandbox_native_login": native_login,
        }
    )


def _configured(c: Any, name: str, empty: Any) -> Any:
    """A JupyterHub trait's value set so far in the config (``empty`` when unset)."""
    if name not in c.JupyterHub:
        return empty
    value = c.JupyterHub[name]
    return value.get_value(empty) if isinstance(value, LazyConfigValue) else value


def _configured_paths(c: Any) -> list[str]:
    return [p for p in _configured(c, "template_paths", []) if p != str(TEMPLATES)]
