"""The JupyterLab extension's catalogue: its own translation domain, a ``.po`` per
JupyterLab locale in the extension's Python package, compiled by build.sh into the JSON
that JupyterLab loads (``<package>/locale/<locale>/LC_MESSAGES/<domain>.json``, found
through the package's ``jupyterlab.locale`` entry point), and which JupyterLab locale a
hub language is."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from .catalogue import SOURCE_LANGUAGE

DOMAIN = "sandbox_labextension"
PACKAGE = Path(__file__).resolve().parents[2] / "extensions" / "labextension" / DOMAIN
LAB_LOCALES = {"ko": "ko_KR"}
"""Hub language -> the JupyterLab locale of its language pack (English: JupyterLab's own)."""


def lab_locale(language: str) -> str:
    return LAB_LOCALES.get(language, "en" if language == SOURCE_LANGUAGE else language)


def lab_catalogue_path(locale: str, suffix: str = "po") -> Path:
    return PACKAGE / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.{suffix}"


def read_lab_catalogue(locale: str) -> Catalog:
    with lab_catalogue_path(locale).open("rb") as f:
        return read_po(f, locale=locale.replace("-", "_"), domain=DOMAIN)


def to_json(catalog: Catalog, locale: str) -> dict:
    """JupyterLab's catalogue JSON (what its language packs ship): a header under "" and
    each msgid with its translations; fuzzy and empty entries are left out."""
    data: dict = {
        "": {
            "domain": DOMAIN,
            "language": locale.replace("_", "-"),
            "plural_forms": catalog.plural_forms,
            "version": "1",
        }
    }
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            strings = list(message.string)
            key = message.id[0]
        else:
            strings = [message.string]
            key = message.id
        if all(strings):
            data[key] = strings
    return data


def compile_all() -> list[Path]:
    written = []
    for po in sorted((PACKAGE / "locale").glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        locale = po.parent.parent.name
        out = po.with_suffix(".json")
        out.write_text(
            json.dumps(to_json(read_lab_catalogue(locale), locale), ensure_ascii=False, indent=1)
            + "\n",
            encoding="utf-8",
        )
        written.append(out)
    return written


if __name__ == "__main__":
    for path in compile_all():
        print(f"wrote {path}")
    sys.exit(0)
