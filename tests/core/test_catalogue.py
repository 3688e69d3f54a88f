"""The catalogues cannot rot: every message the hub side shows (found in the sources by
spawners.i18n.extract) has a translation in every language, not fuzzy, with the same
placeholders as the English."""

from __future__ import annotations

import re

import pytest
import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from spawners.i18n import SOURCE_LANGUAGE, available_languages
from spawners.i18n.catalogue import DOMAIN, catalogue_path
from spawners.i18n.extract import REPO, source_catalog

PLACEHOLDER = re.compile(
    r"%\d+|%(?:\([A-Za-z_]\w*\))?[#0\- +]*\d*(?:\.\d+)?[sdifr%]|\{[A-Za-z_]\w*\}"
)
LANGUAGES = [lang for lang in available_languages() if lang != SOURCE_LANGUAGE]


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def problems(source: Catalog, translated: Catalog) -> list[str]:
    found = []
    for message in source:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        entry = translated.get(message.id)
        if entry is None:
            found.append(f"missing: {ids[0]!r}")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(strings):
            found.append(f"untranslated{' (fuzzy)' if entry.fuzzy else ''}: {ids[0]!r}")
            continue
        wanted = placeholders(ids[0])
        for string in strings:
            if placeholders(string) != wanted:
                found.append(f"placeholders differ: {ids[0]!r} -> {string!r}")
    return found


def load(language: str) -> Catalog:
    with catalogue_path(language).open("rb") as f:
        return read_po(f, locale=language, domain=DOMAIN)


def test_there_is_a_korean_catalogue() -> None:
    assert "ko" in LANGUAGES


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    source = source_catalog()
    assert len(list(source)) > 50  # the extractor found the sources
    assert problems(source, load(language)) == []


def test_a_missing_or_broken_translation_is_found() -> None:
    source = Catalog(locale="en")
    source.add("%(count)s free")
    source.add("No GPU: CPU only")
    source.add("Slice")
    source.add("Image")
    broken = Catalog(locale="ko")
    broken.add("%(count)s free", "%(number)s개 사용 가능")
    broken.add("No GPU: CPU only", "")
    broken.add("Slice", "슬라이스", flags=["fuzzy"])
    assert problems(source, broken) == [
        "placeholders differ: '%(count)s free' -> '%(number)s개 사용 가능'",
        "untranslated: 'No GPU: CPU only'",
        "untranslated (fuzzy): 'Slice'",
        "missing: 'Image'",
    ]


def test_the_site_setting_offers_exactly_the_languages_with_a_catalogue() -> None:
    schema = yaml.safe_load((REPO / "hub_config" / "schema.yaml").read_text())
    offered = schema["properties"]["site"]["properties"]["language"]["enum"]
    assert sorted(offered) == sorted(available_languages())
