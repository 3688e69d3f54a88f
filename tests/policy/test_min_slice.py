"""images.<name>.min_slice: an image is started only on a slice no smaller than its
minimum (the same "no larger than" rule as a team's max_slice, turned round); anything
smaller is refused with code image-min-slice, in the user's language."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub_config.site import SiteError, load_site
from spawners.core.policy import LimitCode, min_slice_refusal
from spawners.i18n import refusal_text
from spawners.refusal_status import http_status


@pytest.mark.parametrize(
    ("slice_name", "refused"),
    [
        ("cpu", True),
        ("mps.10gb", True),  # a smaller share of the GPU's compute than 1g.10gb
        ("1g.10gb", False),
        ("1g.18gb", False),  # an H200's seventh: no smaller
        ("2g.20gb", False),
        ("mps.20gb", False),
        ("gpu", False),
    ],
)
def test_a_slice_smaller_than_the_minimum_is_refused(slice_name: str, refused: bool) -> None:
    refusal = min_slice_refusal("speech", "1g.10gb", slice_name)
    assert (refusal is not None) is refused
    if refusal is not None:
        assert refusal.code is LimitCode.IMAGE_MIN_SLICE
        assert http_status(refusal.code) == 400
        assert refusal.message == (
            f"The image 'speech' needs at least a 1g.10gb slice, and {slice_name} is "
            "smaller. Choose a larger slice for it, or another image."
        )


def test_no_minimum_admits_every_slice() -> None:
    assert min_slice_refusal("base", None, "cpu") is None
    assert min_slice_refusal("base", "cpu", "cpu") is None


def test_the_refusal_is_written_in_the_users_language() -> None:
    refusal = min_slice_refusal("speech", "1g.10gb", "cpu")
    assert refusal is not None
    assert refusal_text(refusal, "en") == refusal.message
    korean = refusal_text(refusal, "ko")
    assert "최소 1g.10gb 슬라이스" in korean and "'speech'" in korean and "cpu" in korean


def test_defaults_must_satisfy_the_default_images_minimum(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("defaults: {image: speech, slice: cpu}\n", encoding="utf-8")
    with pytest.raises(SiteError, match=r"defaults.slice cpu is smaller than the min_slice"):
        load_site(path, env={})
    path.write_text("defaults: {image: speech, slice: 1g.10gb}\n", encoding="utf-8")
    assert load_site(path, env={})["defaults"]["image"] == "speech"
