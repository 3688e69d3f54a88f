"""Strict validation of user_options, whether they come from the form or the REST API.

Only two keys exist, each a short string: ``image``, one of the site's images (its
``images`` table, spawners/core/images.py), and ``slice``, one of the catalogue's slices
(spawners/core/profiles.py). Anything else is refused with a message safe to show (values
are never echoed raw)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from .profiles import SLICE_NAMES
from .refusals import N_, RefusalCode, RefusalError

OPTION_KEYS: tuple[str, ...] = ("image", "slice")
MAX_VALUE_LENGTH = 32
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


class OptionsError(RefusalError, ValueError):
    """A user_options value that cannot be accepted (malformed, unknown, or not allowed
    for this user); the values in its message are already made safe to show (``shown``)."""

    default_code = RefusalCode.INVALID_OPTIONS


@dataclass(frozen=True)
class SliceRequest:
    image: str
    slice_name: str


@dataclass(frozen=True)
class Choices:
    """What this user may pick, with the defaults used for a missing key."""

    images: tuple[str, ...]
    slices: tuple[str, ...]
    default_image: str
    default_slice: str


def shown(value: object) -> str:
    """A short, harmless rendering of a user value for an error message."""
    if isinstance(value, str) and _SAFE_TOKEN.fullmatch(value):
        return repr(value)
    return f"a {type(value).__name__}" if not isinstance(value, str) else "that value"


def parse_user_options(raw: object, choices: Choices, site_images: Collection[str]) -> SliceRequest:
    """Turn raw user_options into a request, or raise OptionsError. ``site_images``: the
    names of the site's images (an image the site lacks is unknown; one this user may not
    pick is not allowed)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise OptionsError(N_("user_options must be a JSON object with 'image' and 'slice'."))
    unknown = sorted(
        (k for k in raw if k not in OPTION_KEYS), key=lambda k: (not isinstance(k, str), str(k))
    )
    if unknown:
        names = ", ".join(
            shown(k) if isinstance(k, str) else "a non-string key" for k in unknown[:3]
        )
        raise OptionsError(
            N_("Unknown option %(names)s: only 'image' and 'slice' are accepted."), names=names
        )
    image = _pick(raw, "image", site_images, choices.images, choices.default_image)
    slice_name = _pick(raw, "slice", SLICE_NAMES, choices.slices, choices.default_slice)
    return SliceRequest(image=image, slice_name=slice_name)


def _pick(
    raw: Mapping, key: str, known: Collection[str], allowed: tuple[str, ...], default: str
) -> str:
    if key not in raw:
        return default
    value = raw[key]
    if not isinstance(value, str):
        raise OptionsError(
            N_("'%(key)s' must be a string, not %(value)s."), key=key, value=shown(value)
        )
    if len(value) > MAX_VALUE_LENGTH or value not in known:
        raise OptionsError(
            N_("Unknown %(key)s %(value)s. Choose one of: %(choices)s."),
            key=key,
            value=shown(value),
            choices=", ".join(allowed),
        )
    if value not in allowed:
        raise OptionsError(
            N_("The %(key)s %(value)s is not available to you. Choose one of: %(choices)s."),
            RefusalCode.NOT_ALLOWED,
            key=key,
            value=repr(value),
            choices=", ".join(allowed),
        )
    return value


def options_from_form(form: Mapping[str, list[str]]) -> dict[str, str]:
    """The form posts lists of strings; keep the first value of each key."""
    out: dict[str, str] = {}
    for key, values in form.items():
        if isinstance(values, list | tuple) and values:
            out[key] = values[0]
        else:
            out[key] = values  # type: ignore[assignment]  # validated later, refused there
    return out
