"""The site's images, as data: what user_options' ``image`` names.

The table is the site file's ``images`` section (``hub_config/defaults.yaml`` carries the
project's five; a site adds its own there, without code). Pure: the caller reads the
file; this module only turns the validated section into values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Image:
    """One image a site offers."""

    name: str
    text: str = ""
    """The description as one text (a plain string in the site file). The defaults' texts
    are in the message catalogue, so the form shows them translated."""
    texts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    """The description by language, when the site file gives a mapping (``en``, ``ko``)."""
    min_slice: str | None = None
    """The smallest slice the image is meant for (the site file's ``min_slice``)."""

    def description_in(self, language: str, source_language: str) -> str | None:
        """The site's own text for ``language`` (else the source language's, else the
        first given); None when the site gave one plain text, to be shown through the
        catalogue."""
        if not self.texts:
            return None
        return (
            self.texts.get(language)
            or self.texts.get(source_language)
            or next(iter(self.texts.values()))
        )


ImageTable = Mapping[str, Image]
"""The site's images by name, in the site file's order."""


def image_table(section: Mapping[str, Mapping[str, Any]]) -> ImageTable:
    """The validated ``images`` section of a site as a table."""
    table: dict[str, Image] = {}
    for name, entry in section.items():
        description = entry["description"]
        texts = dict(description) if isinstance(description, Mapping) else {}
        table[name] = Image(
            name=name,
            text="" if texts else str(description),
            texts=MappingProxyType(texts),
            min_slice=entry.get("min_slice"),
        )
    return MappingProxyType(table)
