"""A user starts a server and sees their slice in JupyterLab's status bar and panel."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.extensions.support import build_labextension, chromium, log_in, running_hub
from tests.support.hub import Hub

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    build_labextension(if_changed=True)
    with running_hub(tmp_path_factory.mktemp("slice-status")) as hub:
        yield hub


def test_status_bar_shows_the_slice_and_the_panel_its_details(hub: Hub) -> None:
    assert hub.spawn("alice", {"image": "vision", "slice": "1g.10gb"}).status_code in (201, 202)
    hub.wait_ready("alice")
    with chromium() as browser:
        page = log_in(browser, hub, "alice")
        page.goto(f"{hub.url}/user/alice/lab")
        status = page.locator("#jp-main-statusbar #sandbox-slice-status")
        status.wait_for()
        page.wait_for_function(
            "() => document.querySelector('#sandbox-slice-status').dataset.slice === '1g.10gb'"
        )
        assert status.inner_text() == "1g.10gb · 10 GB · simulated"
        assert status.get_attribute("data-simulated") == "true"

        status.click()
        panel = page.locator("#sandbox-slice-panel")
        panel.wait_for(state="visible")
        assert panel.locator("tr[data-field='profile'] td").inner_text() == "1g.10gb"
        assert panel.locator("tr[data-field='image'] td").inner_text() == "vision"
        device = panel.locator("tr[data-field='device'] td").inner_text()
        assert re.fullmatch(r"MIG-[0-9a-f-]{36}", device)
        assert "10 GB (use not measured)" in panel.locator("tr[data-field='memory']").inner_text()
        assert "Simulated slice" in panel.locator(".sandbox-Simulated").inner_text()
        assert "1g.20gb" in panel.locator(".sandbox-Hint").inner_text()
    allocation = next(a for a in hub.allocations() if a["user"] == "alice")
    assert allocation["device_uuid"] == device
    hub.stop_server("alice")
