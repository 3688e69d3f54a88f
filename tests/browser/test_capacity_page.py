"""An admin sees the capacity page with the right slots filled, live; others get 403."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.extensions.support import chromium, log_in, running_hub
from tests.support.hub import Hub, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with running_hub(tmp_path_factory.mktemp("capacity")) as hub:
        for user, options in (
            ("alice", {"image": "vision", "slice": "1g.10gb"}),
            ("bob", {"image": "speech", "slice": "3g.40gb"}),
            ("carol", {"slice": "cpu"}),
        ):
            assert hub.spawn(user, options).status_code in (201, 202)
        for user in ("alice", "bob", "carol"):
            hub.wait_ready(user)
        yield hub


def slot_holders(page) -> list[str]:
    return page.eval_on_selector_all(
        ".slots[data-gpu='0'] .slot", "nodes => nodes.map(n => n.dataset.holder)"
    )


def test_admin_sees_every_slot_and_stops_a_server(hub: Hub) -> None:
    expected = [""] * 8
    for a in hub.allocations():
        for slot in a["slots"]:
            expected[slot] = a["user"]
    assert expected.count("bob") == 4 and expected.count("alice") == 1

    with chromium() as browser:
        page = log_in(browser, hub, "admin")
        page.goto(f"{hub.url}/services/slices/")
        page.locator(".slots[data-gpu='0'] .slot").first.wait_for()
        assert slot_holders(page) == expected
        assert page.locator("#source").inner_text() == "simulated GPUs"
        alice = page.locator(".slot[data-holder='alice']")
        assert "1g.10gb" in alice.inner_text()
        assert "vision" in alice.get_attribute("title")
        assert page.locator("#free td[data-profile='7g.80gb']").inner_text() == "0"
        # The whole GPU is blocked by both holders, and the page says which.
        blocked = page.locator(".blocked li[data-profile='7g.80gb']").inner_text()
        assert "alice" in blocked and "bob" in blocked
        assert "carol" in page.locator("#cpu").inner_text()
        page.wait_for_function(
            "() => !document.querySelector('#usage').textContent.includes('loading')"
        )

        page.on("dialog", lambda dialog: dialog.accept())
        page.click("button.stop[data-user='alice']")
        wait_for(lambda: hub.server("alice") is None, 60, "alice's server to stop")
        # Live refresh: the page notices without a reload.
        page.wait_for_function(
            "() => !document.querySelector(\".slot[data-holder='alice']\")", timeout=30_000
        )
        assert slot_holders(page) == [u if u != "alice" else "" for u in expected]


def test_non_admin_gets_403(hub: Hub) -> None:
    with chromium() as browser:
        page = log_in(browser, hub, "bob")
        response = page.goto(f"{hub.url}/services/slices/")
        assert response is not None and response.status == 403
        assert "Only admins" in page.content()
        api = page.request.get(f"{hub.url}/services/slices/api/overview")
        assert api.status == 403
