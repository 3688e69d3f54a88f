"""The catalogues: ``locale/<language>/LC_MESSAGES/sandbox.po``, the source in git.

A ``.po`` is compiled in memory when a language is first used (Babel's ``write_mo``), so
there is no ``.mo`` to build, ship or let go stale: a changed ``.po`` is what the next
start uses. English is the source language: its messages are the msgids themselves."""

from __future__ import annotations

import functools
import gettext
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from spawners.core.refusals import N_ as N_  # one marker, usable in the pure core too

DOMAIN = "sandbox"
SOURCE_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def available_languages() -> tuple[str, ...]:
    """English first, then every language with a catalogue, in name order."""
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *(lang for lang in found if lang != SOURCE_LANGUAGE))


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The language's translations (English, or a language without a catalogue: the
    source messages as they are)."""
    if language == SOURCE_LANGUAGE or language not in available_languages():
        return gettext.NullTranslations()
    with catalogue_path(language).open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)
