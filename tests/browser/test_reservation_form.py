"""The courses page's reservation form in Chromium: an instructor reserves slices for a
lab session, sees it listed, is told what the window can still hold when asking too
much, and cancels it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.extensions.support import SITE, chromium, log_in
from tests.support.hub import Hub, write_site

pytestmark = pytest.mark.integration

TEAMS = """
teams:
  ml101:
    kind: course
    groups: [ml101-students]
    instructors: {groups: [ml101-instructors]}
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    tmp = tmp_path_factory.mktemp("reservation-form")
    hub = Hub(tmp / "hub", site=write_site(tmp / "site.yaml", SITE + TEAMS))
    try:
        yield hub.start(timeout=120)
    finally:
        hub.stop()
        hub.remove_homes()


def local(at: datetime) -> str:
    """What a datetime-local field holds (the browser's time zone is this machine's)."""
    return at.strftime("%Y-%m-%dT%H:%M")


def test_an_instructor_reserves_is_told_what_fits_and_cancels(hub: Hub) -> None:
    with chromium() as browser:
        page = log_in(browser, hub, "prof")
        assert hub.post("/groups/ml101-instructors", json={"users": ["prof"]}).ok
        page.goto(f"{hub.url}/services/courses/")
        course = page.locator("section.course[data-course='ml101'][data-role='instructor']")
        form = course.locator("form.reserve")
        message = course.locator("form.reserve + p.message")
        listing = course.locator("ul.reservations")
        expect(listing).to_have_text("No reservations ahead.", timeout=60_000)

        start = datetime.now() + timedelta(hours=1)
        form.locator("input[name='count']").fill("2")
        form.locator("input[name='start']").fill(local(start))
        form.locator("input[name='end']").fill(local(start + timedelta(hours=2)))
        form.locator("button.reserve").click()
        expect(message).to_have_text("Reserved 2 x 1g.10gb.", timeout=60_000)
        # The list is redrawn after the message: wait for the entry, not for one <li> (the
        # "No reservations ahead." placeholder is one too).
        expect(listing).to_contain_text("2 x 1g.10gb", timeout=60_000)
        expect(listing.locator("li")).to_have_count(1)
        assert "0 claimed" in listing.inner_text()

        # Seven 1g.10gb on the simulated H100, two reserved: the window holds five more.
        form.locator("input[name='count']").fill("9")
        form.locator("button.reserve").click()
        expect(message).to_have_text(
            "This window can hold at most 5 x 1g.10gb beside the other reservations.",
            timeout=60_000,
        )
        expect(message).to_have_class("message error")

        listing.locator("button.cancel").click()
        expect(listing).to_have_text("No reservations ahead.", timeout=60_000)
