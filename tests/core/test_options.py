"""Strict validation of user_options: a table of what is refused, and how safely."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from spawners.core.images import image_table
from spawners.core.options import (
    Choices,
    OptionsError,
    SliceRequest,
    options_from_form,
    parse_user_options,
)
from spawners.refusal_status import http_status

IMAGE_NAMES = ("base", "speech", "vision", "medical", "legal")
"""The site's images here: the defaults' five (their table is site data)."""
ALLOWED_SLICES = ("cpu", "1g.10gb", "2g.20gb")
CHOICES = Choices(
    images=IMAGE_NAMES, slices=ALLOWED_SLICES, default_image="base", default_slice="cpu"
)

HOSTILE_TEXTS = [
    "<script>alert(1)</script>",
    "base\n#SBATCH --partition=admin",
    "1g.10gb\r\nX-Injected: 1",
    "base; rm -rf / #",
    "{{ 7*7 }}${jndi:ldap://x}",
    "../../../etc/passwd",
    "x" * 10_000,
    "\x00\x1b[31mred",
    "ＢＡＳＥ",
    "' OR '1'='1",
]


def refused(
    raw: object, choices: Choices = CHOICES, site_images: Collection[str] = IMAGE_NAMES
) -> OptionsError:
    with pytest.raises(OptionsError) as info:
        parse_user_options(raw, choices, site_images)
    return info.value


def assert_safe(error: OptionsError, *hostile: str) -> None:
    """A message fit for a browser: short, one line, never the raw hostile text."""
    message = str(error)
    assert message == error.message
    assert http_status(error.code) == 400
    assert "\n" not in message and "\r" not in message and "\x00" not in message
    assert "<" not in message and "${" not in message and "{{" not in message
    assert len(message) < 300
    for text in hostile:
        assert text not in message
        assert repr(text) not in message


# --- accepted ------------------------------------------------------------------------


@pytest.mark.parametrize("image", IMAGE_NAMES)
@pytest.mark.parametrize("slice_name", ALLOWED_SLICES)
def test_allowed_values_pass(image: str, slice_name: str) -> None:
    assert parse_user_options(
        {"image": image, "slice": slice_name}, CHOICES, IMAGE_NAMES
    ) == SliceRequest(image=image, slice_name=slice_name)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, SliceRequest("base", "cpu")),
        ({}, SliceRequest("base", "cpu")),
        ({"image": "vision"}, SliceRequest("vision", "cpu")),
        ({"slice": "1g.10gb"}, SliceRequest("base", "1g.10gb")),
    ],
)
def test_missing_keys_take_the_defaults(raw: object, expected: SliceRequest) -> None:
    assert parse_user_options(raw, CHOICES, IMAGE_NAMES) == expected


def test_defaults_come_from_the_choices() -> None:
    choices = Choices(("legal",), ("2g.20gb",), default_image="legal", default_slice="2g.20gb")
    assert parse_user_options({}, choices, IMAGE_NAMES) == SliceRequest("legal", "2g.20gb")


# --- refused -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [[], ["image", "base"], "image=base", 42, 1.5, True, b"{}"])
def test_user_options_must_be_an_object(raw: object) -> None:
    error = refused(raw)
    assert_safe(error)
    assert "JSON object" in error.message


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"gpu_count": 1}, "'gpu_count'"),
        ({"image": "base", "partition": "admin"}, "'partition'"),
        ({"Image": "base"}, "'Image'"),
        ({"slice": "cpu", "image": "base", "env": {}}, "'env'"),
    ],
)
def test_unknown_keys_are_named_when_harmless(raw: dict, named: str) -> None:
    error = refused(raw)
    assert_safe(error)
    assert error.code == "invalid-options"
    assert f"Unknown option {named}" in error.message
    assert "only 'image' and 'slice' are accepted" in error.message


def test_many_unknown_keys_name_at_most_three() -> None:
    error = refused({f"k{i}": 1 for i in range(50)})
    assert_safe(error)
    assert error.message.count("'k") == 3


@pytest.mark.parametrize("key", HOSTILE_TEXTS)
def test_hostile_unknown_keys_are_never_echoed(key: str) -> None:
    error = refused({key: "base"})
    assert_safe(error, key)
    assert "Unknown option" in error.message


@pytest.mark.parametrize(
    "raw",
    [
        {1: "base"},
        {None: "base"},
        {(1, 2): "base"},
        {1.5: "x", 2: "y"},
        # Non-string keys next to string keys: must be refused, not crash sorting them.
        {1: "x", "foo": "y"},
        {"image": "base", None: "x", "slice": "cpu", "zz": 1},
    ],
)
def test_non_string_keys_are_refused(raw: dict) -> None:
    error = refused(raw)
    assert_safe(error)
    assert "Unknown option" in error.message


@pytest.mark.parametrize("key", ["image", "slice"])
@pytest.mark.parametrize(
    ("value", "type_word"),
    [
        (1, "int"),
        (1.5, "float"),
        (True, "bool"),
        (None, "NoneType"),
        (["base"], "list"),
        ({"name": "base"}, "dict"),
        (b"base", "bytes"),
    ],
)
def test_non_string_values_are_refused(key: str, value: object, type_word: str) -> None:
    error = refused({key: value})
    assert_safe(error)
    assert error.message.startswith(f"'{key}' must be a string")
    assert type_word in error.message


@pytest.mark.parametrize("value", ["gpu-large", "Base", " base", "base ", "", "8g.90gb"])
def test_unknown_image_values_are_named_and_the_choices_listed(value: str) -> None:
    error = refused({"image": value})
    assert_safe(error)
    assert error.message.startswith("Unknown image")
    assert "Choose one of: base, speech, vision, medical, legal." in error.message


@pytest.mark.parametrize("key", ["image", "slice"])
@pytest.mark.parametrize("value", HOSTILE_TEXTS)
def test_hostile_values_are_never_echoed(key: str, value: str) -> None:
    error = refused({key: value})
    assert_safe(error, value)
    assert error.message.startswith(f"Unknown {key}")


def test_a_very_long_known_prefix_is_still_unknown() -> None:
    value = "1g.10gb" + "b" * 100
    error = refused({"slice": value})
    assert_safe(error, value)


@pytest.mark.parametrize("value", ["7g.80gb", "3g.40gb", "mps.10gb", "gpu"])
def test_known_slices_not_allowed_for_this_user_are_refused_with_400(value: str) -> None:
    error = refused({"slice": value})
    assert_safe(error)
    # DESIGN.md: values not allowed for the user's team are an HTTP 400.
    assert http_status(error.code) == 400
    assert error.code == "not-allowed"
    assert f"The slice {value!r} is not available to you" in error.message
    assert "Choose one of: cpu, 1g.10gb, 2g.20gb." in error.message


def test_known_image_not_allowed_for_this_user() -> None:
    choices = Choices(("base", "legal"), ALLOWED_SLICES, "base", "cpu")
    error = refused({"image": "medical"}, choices)
    assert error.code == "not-allowed"
    assert "Choose one of: base, legal." in error.message


# --- the site's own images -------------------------------------------------------------

GENOMICS_SITE = image_table(
    {
        "base": {"description": "Python"},
        "genomics": {"description": {"en": "Sequencing", "ko": "유전체 분석"}},
    }
)


def test_an_image_the_site_adds_is_accepted() -> None:
    choices = Choices(tuple(GENOMICS_SITE), ALLOWED_SLICES, "base", "cpu")
    assert parse_user_options(
        {"image": "genomics", "slice": "1g.10gb"}, choices, GENOMICS_SITE
    ) == SliceRequest("genomics", "1g.10gb")


def test_an_image_of_another_site_is_unknown_here() -> None:
    choices = Choices(tuple(GENOMICS_SITE), ALLOWED_SLICES, "base", "cpu")
    error = refused({"image": "vision"}, choices, GENOMICS_SITE)
    assert_safe(error)
    assert error.code == "invalid-options"
    assert error.message == "Unknown image 'vision'. Choose one of: base, genomics."


def test_a_site_image_the_team_leaves_out_is_not_allowed() -> None:
    choices = Choices(("base",), ALLOWED_SLICES, "base", "cpu")
    error = refused({"image": "genomics"}, choices, GENOMICS_SITE)
    assert error.code == "not-allowed"
    assert error.message == "The image 'genomics' is not available to you. Choose one of: base."


def test_options_error_is_a_value_error() -> None:
    error = refused({"image": 3})
    assert isinstance(error, ValueError)


# --- the spawn form --------------------------------------------------------------------


def test_form_takes_the_first_value_of_each_key() -> None:
    form = {"image": ["vision", "legal"], "slice": ["1g.10gb"]}
    assert options_from_form(form) == {"image": "vision", "slice": "1g.10gb"}
    assert parse_user_options(options_from_form(form), CHOICES, IMAGE_NAMES) == SliceRequest(
        "vision", "1g.10gb"
    )


def test_form_oddities_are_refused_later() -> None:
    raw = options_from_form({"image": [], "slice": ["cpu"]})
    error = refused(raw)
    assert_safe(error)
    assert "'image' must be a string" in error.message
