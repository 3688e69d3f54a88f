"""The hub's languages: gettext catalogues (Babel) for everything the hub side writes
(the spawn form, refusals, the hub's page templates, the services' pages), the choice of
a language for a request, and Korean conventions for numbers and dates.

It lives here, beside the slice machinery, because every hub-side part (hub_config,
spawners, extensions) already imports ``spawners``; the pure core (spawners/core) does not
use it: its refusals carry a code and plain figures, and this package writes them."""

from .catalogue import (
    DOMAIN,
    LOCALE_DIR,
    N_,
    SOURCE_LANGUAGE,
    available_languages,
    translations,
)
from .formats import PERIODS, format_gpu_hours, format_moment
from .negotiation import (
    COOKIE,
    QUERY,
    choose_language,
    current_language,
    parse_accept_language,
    use_language,
)
from .refusals import refusal_code, refusal_text

__all__ = [
    "COOKIE",
    "DOMAIN",
    "LOCALE_DIR",
    "N_",
    "PERIODS",
    "QUERY",
    "SOURCE_LANGUAGE",
    "available_languages",
    "choose_language",
    "current_language",
    "format_gpu_hours",
    "format_moment",
    "parse_accept_language",
    "refusal_code",
    "refusal_text",
    "translations",
    "use_language",
]
