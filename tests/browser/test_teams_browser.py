"""In a real browser: sign in through the IdP, see only what the team allows (with free
counts and the GPU-hours left), start a server and land in JupyterLab."""

from __future__ import annotations

import re

import pytest

from tests.support.hub import Hub, wait_for
from tests.support.oidc import teams_hub

TEAMS = """
  startup-alpha:
    kind: startup
    groups: [startup-alpha]
    policy:
      images: [base, vision]
      slices: [cpu, 1g.10gb, 2g.20gb]
      gpu_hours: {per_team: 5}
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    users = {"alice": ["startup-alpha"]}
    with teams_hub(tmp_path_factory.mktemp("browser"), TEAMS, users) as (hub, _provider):
        yield hub


def test_sign_in_see_allowed_choices_and_start(browser, hub: Hub) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{hub.url}/hub/login")
        page.get_by_text("Sign in with Test Data Center account").click()

        # The IdP's own pages: login (any password), then consent.
        page.wait_for_selector("input[name=login]")
        page.fill("input[name=login]", "alice")
        page.fill("input[name=password]", "correct horse battery staple")
        page.click("button[type=submit]")
        page.wait_for_selector("button[type=submit]")
        page.click("button[type=submit]")

        # Back at the hub: the spawn form shows only the team's choices.
        page.wait_for_url(re.compile(r".*/hub/spawn.*"))
        page.wait_for_selector(".sandbox-form")
        images = page.locator("select[name=image] option").evaluate_all(
            "options => options.map(o => o.value)"
        )
        assert images == ["base", "vision"]
        slices = page.locator("input[name=slice]").evaluate_all(
            "inputs => inputs.map(i => i.value)"
        )
        assert slices == ["cpu", "1g.10gb", "2g.20gb"]
        assert page.locator('[data-slice="1g.10gb"]').inner_text() == "(7 free)"
        assert page.locator('[data-slice="2g.20gb"]').inner_text() == "(3 free)"
        assert page.locator(".sandbox-budget").inner_text() == "5.00"
        assert "Team startup-alpha (startup)" in page.locator(".sandbox-team").inner_text()

        page.select_option("select[name=image]", "vision")
        page.check('input[name=slice][value="1g.10gb"]')
        page.click("form#spawn_form button[type=submit], #spawn_form input[type=submit]")
        page.wait_for_url(re.compile(r".*/user/alice/lab.*"), timeout=120_000)
    finally:
        context.close()

    server = wait_for(lambda: (hub.server("alice") or {}).get("ready"), 60, "alice's server")
    assert server
    [allocation] = hub.allocations()
    assert (allocation["user"], allocation["slice"], allocation["image"]) == (
        "alice",
        "1g.10gb",
        "vision",
    )
    assert allocation["team"] == "startup-alpha"
    hub.stop_server("alice")
