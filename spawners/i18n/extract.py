"""What the catalogues must translate, found where it is written: the ``_``/``gettext``/
``ngettext``/``N_`` messages of the hub-side Python, the ``{% trans %}`` blocks of the
hub's and the services' templates and the ``_()`` messages of the services' page scripts
(static/*.js) (Babel's extractors), and the default images'
descriptions in hub_config/defaults.yaml (the form shows them translated).

``python -m spawners.i18n.extract`` brings every catalogue up to date with the sources:
and the JupyterLab extension's
catalogue (spawners/i18n/lab.py) with its TypeScript sources: new messages are added
untranslated, translations of changed ones are kept as fuzzy,
messages no longer used are dropped; then translate the empty and fuzzy entries.
tests/core/test_catalogue.py fails while any is left."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from .catalogue import DOMAIN, SOURCE_LANGUAGE, available_languages, catalogue_path
from .lab import DOMAIN as LAB_DOMAIN
from .lab import PACKAGE, lab_catalogue_path, lab_locale, read_lab_catalogue

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("spawners", "hub_config", "extensions")
METHODS = [
    ("**/node_modules/**", "ignore"),
    ("**/labextension/**", "ignore"),
    ("**/templates/**.html", "jinja2"),
    ("**/static/**.js", "javascript"),
    ("**.py", "python"),
]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
LAB_METHODS = [("**/__tests__/**", "ignore"), ("**.ts", "javascript")]
LAB_KEYWORDS = {"__": None, "_n": (1, 2), "_p": ((1, "c"), 2)}


def source_catalog() -> Catalog:
    """Every message the hub side shows, as a catalogue template (no translations)."""
    catalog = Catalog(domain=DOMAIN, project="ai-sandbox-hub")
    for top in SOURCES:
        for filename, lineno, message, comments, _context in extract_from_dir(
            REPO / top, METHODS, OPTIONS, KEYWORDS, strip_comment_tags=True
        ):
            catalog.add(message, locations=[(f"{top}/{filename}", lineno)], auto_comments=comments)
    defaults = yaml.safe_load((REPO / "hub_config" / "defaults.yaml").read_text())
    for name, image in (defaults.get("images") or {}).items():
        if image.get("description"):
            catalog.add(image["description"], locations=[(f"hub_config/defaults.yaml:{name}", 0)])
    return catalog


def lab_source_catalog() -> Catalog:
    """Every message the JupyterLab extension shows (``trans().__(...)`` in src/*.ts)."""
    catalog = Catalog(domain=LAB_DOMAIN, project="sandbox-labextension")
    for filename, lineno, message, comments, _context in extract_from_dir(
        PACKAGE.parent / "src", LAB_METHODS, {}, LAB_KEYWORDS, strip_comment_tags=True
    ):
        catalog.add(message, locations=[(f"src/{filename}", lineno)], auto_comments=comments)
    return catalog


def _tidy(catalog: Catalog, created: object) -> None:
    """Headers that say what the file is and change only when a message does."""
    catalog.header_comment = (
        f"# {catalog.locale_identifier} translations of AI Sandbox Hub ({catalog.domain}).\n"
        "# How to update them: docs/i18n.md; the terms to use: docs/glossary.ko.md."
    )
    catalog.project, catalog.version = "ai-sandbox-hub", "0.1.0"
    catalog.msgid_bugs_address = catalog.last_translator = catalog.language_team = ""
    catalog.fuzzy = False
    if created is not None:
        catalog.creation_date = created
        catalog.revision_date = created


def update(language: str) -> Catalog:
    path = catalogue_path(language)
    if path.exists():
        with path.open("rb") as f:
            catalog = read_po(f, locale=language, domain=DOMAIN)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=language, domain=DOMAIN, project="ai-sandbox-hub")
    created = catalog.creation_date if path.exists() else None
    catalog.update(source_catalog(), no_fuzzy_matching=False)
    catalog.obsolete.clear()
    _tidy(catalog, created)
    with path.open("wb") as f:
        # File names without line numbers: an edit elsewhere in a file changes no entry.
        write_po(f, catalog, width=100, include_lineno=False)
    return catalog


def update_lab(locale: str) -> Catalog:
    path = lab_catalogue_path(locale)
    if path.exists():
        catalog = read_lab_catalogue(locale)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = Catalog(locale=locale, domain=LAB_DOMAIN, project="sandbox-labextension")
    created = catalog.creation_date if path.exists() else None
    catalog.update(lab_source_catalog(), no_fuzzy_matching=False)
    catalog.obsolete.clear()
    _tidy(catalog, created)
    with path.open("wb") as f:
        write_po(f, catalog, width=100, include_lineno=False)
    return catalog


def main(argv: list[str]) -> int:
    for language in argv or [lang for lang in available_languages() if lang != SOURCE_LANGUAGE]:
        catalog = update(language)
        missing = sum(1 for m in catalog if m.id and (not m.string or m.fuzzy))
        print(f"{catalogue_path(language).relative_to(REPO)}: {missing} to translate")
        locale = lab_locale(language)
        catalog = update_lab(locale)
        missing = sum(1 for m in catalog if m.id and (not m.string or m.fuzzy))
        print(f"{lab_catalogue_path(locale).relative_to(REPO)}: {missing} to translate")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
