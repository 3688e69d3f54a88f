"""The images `make images` builds are the folders of images/; the default site offers
exactly those (its images table is site data, so a second list would drift)."""

from __future__ import annotations

import yaml

from hub_config.site import DEFAULTS_PATH

from .conftest import IMAGES


def test_the_default_site_offers_what_make_images_builds() -> None:
    offered = yaml.safe_load(DEFAULTS_PATH.read_text(encoding="utf-8"))["images"]
    assert set(offered) == set(IMAGES)
    assert IMAGES[0] == "base"  # the others build FROM its runtime
