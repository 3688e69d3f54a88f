"""A real hub whose site file adds an image: the spawn form lists it in the reader's
language, the REST API starts a server on it, and an image the site lacks is refused
with its code and changes nothing."""

from __future__ import annotations

import pytest
import requests

from tests.integration.conftest import TEST_SITE
from tests.integration.test_languages import ENGLISH, KOREAN, log_in, text

pytestmark = pytest.mark.integration

GENOMICS_SITE = (
    TEST_SITE
    + """images:
  genomics:
    description: {en: "GATK and samtools for sequencing runs", ko: "염기서열 분석용 GATK와 samtools"}
    min_slice: cpu
"""
)


def test_a_site_image_on_the_form_and_through_the_api(make_hub) -> None:
    hub = make_hub(GENOMICS_SITE)

    admin: requests.Session = log_in(hub)
    english = text(admin.get(f"{hub.url}/hub/spawn", headers=ENGLISH, timeout=30))
    assert "genomics: GATK and samtools for sequencing runs" in english
    korean = text(admin.get(f"{hub.url}/hub/spawn", headers=KOREAN, timeout=30))
    assert "genomics: 염기서열 분석용 GATK와 samtools" in korean
    assert "base: Python, PyTorch, JupyterLab: 처음이라면 여기서 시작하세요" in korean

    unknown = hub.spawn("alice", {"image": "genomix", "slice": "cpu"})
    assert unknown.status_code == 400, unknown.text
    assert unknown.headers["X-Sandbox-Code"] == "invalid-options"
    assert unknown.json()["message"] == (
        "Unknown image 'genomix'. Choose one of: base, speech, vision, medical, legal, genomics."
    )
    assert hub.server("alice") is None and hub.allocations() == []

    started = hub.spawn("alice", {"image": "genomics", "slice": "cpu"})
    assert started.status_code in (201, 202), started.text
    hub.wait_ready("alice")
    assert hub.slice_from_inside("alice")["environment"]["SANDBOX_IMAGE"] == "genomics"
    [allocation] = hub.allocations()
    assert allocation["image"] == "genomics"
    hub.stop_server("alice")
    assert hub.allocations() == []
