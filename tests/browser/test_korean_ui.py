"""The acceptance of the Korean interface, in real Chromium against a real hub: with
Accept-Language ko-KR the login page, the spawn form (a team's limits and GPU-hours left),
a capacity refusal, the capacity page, the courses page and JupyterLab (status bar item,
slice panel, Course labs panel) are in Korean; with en-US the same pages are English.
Screenshots of every page are kept as artefacts (SANDBOX_TEST_ARTEFACTS, default
.cache/test-artefacts/korean-ui)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.extensions.support import build_labextension, chromium, credentials, log_in
from tests.support.hub import REPO, Hub, write_site

pytestmark = pytest.mark.integration

SITE = """
site: {name: 한국어 테스트 허브}
hub:
  start_timeout: 120
  http_timeout: 90
  queue: {enabled: false}
gpus:
  source: simulated
  simulated_count: 1
teams:
  startup-alpha:
    kind: startup
    groups: [startup-alpha, ml101-students]
    policy:
      max_slices_per_member: 1
      max_slices_per_team: 2
      gpu_hours: {per_team: 10, per_member: 4}
"""
KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}
ARTEFACTS = Path(
    os.environ.get("SANDBOX_TEST_ARTEFACTS") or REPO / ".cache" / "test-artefacts" / "korean-ui"
)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    build_labextension(if_changed=True)
    tmp = tmp_path_factory.mktemp("korean-ui")
    hub = Hub(tmp / "hub", site=write_site(tmp / "site.yaml", SITE))
    try:
        hub.start(timeout=120)
        for group, users in (("startup-alpha", ["jiho"]), ("ml101-students", ["minji"])):
            hub.post(f"/groups/{group}")
            for user in users:
                hub.ensure_user(user)
            r = hub.post(f"/groups/{group}/users", json={"users": users})
            assert r.status_code == 200, r.text
        yield hub
    finally:
        hub.stop()
        hub.remove_homes()


def shoot(page, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def speaking(page, headers: dict[str, str]):
    page.context.set_extra_http_headers(headers)
    return page


def test_korean_pages_forms_refusal_and_jupyterlab(hub: Hub) -> None:
    with chromium() as browser:
        # The login page, before anyone logs in.
        context = browser.new_context(locale="ko-KR", extra_http_headers=KOREAN)
        page = context.new_page()
        page.goto(f"{hub.url}/hub/login")
        assert page.locator(".auth-form-header").inner_text().strip() == "로그인"
        assert page.locator("label[for=username_input]").inner_text() == "사용자 이름:"
        assert page.locator("#login_submit").get_attribute("value") == "로그인"
        assert page.evaluate("document.documentElement.lang") == "ko"
        shoot(page, "ko-login")
        context.close()

        page = speaking(log_in(browser, hub, "minji"), KOREAN)
        # The spawn form: the team, its limits, the GPU-hours left, the free counts.
        page.goto(f"{hub.url}/hub/spawn")
        page.locator(".sandbox-form").wait_for()
        assert page.locator("h1").first.inner_text() == "서버 옵션"
        team = page.locator(".sandbox-team").inner_text()
        assert "팀 startup-alpha (스타트업), 역할: 팀원." in team
        assert "한도: 나는 GPU 슬라이스를 동시에 최대 1개, 팀 전체는 2개." in team
        assert "이번 달 남은 GPU 시간: 4.00" in team
        assert page.locator(".sandbox-budget").inner_text() == "4.00"
        assert page.locator('[data-slice="1g.10gb"]').inner_text() == "(7개 사용 가능)"
        assert page.locator('[data-slice="cpu"]').inner_text() == "(항상 사용 가능)"
        assert "MIG 인스턴스: 연산 7/7, 메모리 80 GB" in page.locator(".sandbox-form").inner_text()
        assert page.locator("#spawn_form button[type=submit]").inner_text() == "시작"
        assert page.locator("#sandbox-language strong").inner_text() == "한국어"
        shoot(page, "ko-spawn-form")

        # minji picks the whole GPU, but a teammate takes it before she presses Start:
        # her start is refused for capacity.
        page.check('input[name=slice][value="7g.80gb"]')
        assert hub.spawn("jiho", {"slice": "7g.80gb"}).status_code in (201, 202)
        page.click("#spawn_form button[type=submit]")
        refusal = page.locator(".spawn-error-msg [data-code]")
        refusal.wait_for()
        assert refusal.get_attribute("data-code") == "no-capacity"
        assert refusal.inner_text().startswith("지금은 비어 있는 7g.80gb 슬라이스가 없습니다.")
        shoot(page, "ko-capacity-refusal")

        # The courses page.
        page.goto(f"{hub.url}/services/courses/")
        page.locator("section.course[data-course='ml101']").wait_for()
        assert page.locator("h1").inner_text() == "강의 실습"
        assert page.locator("section.course h2 .role").inner_text() == "학생"
        assert "아직 게시된 실습이 없습니다." in page.locator("#courses").inner_text()
        shoot(page, "ko-courses")

        # A cpu server from the Korean page: JupyterLab opens in Korean.
        page.goto(f"{hub.url}/hub/spawn")
        page.check('input[name=slice][value="cpu"]')
        page.click("#spawn_form button[type=submit]")
        page.wait_for_url(re.compile(r".*/user/minji/lab.*"), timeout=180_000)
        status = page.locator("#jp-main-statusbar #sandbox-slice-status")
        status.wait_for(timeout=120_000)
        page.wait_for_function(
            "() => document.querySelector('#sandbox-slice-status').dataset.slice === 'cpu'"
        )
        assert status.inner_text() == "cpu (GPU 없음)"
        status.click()
        panel = page.locator("#sandbox-slice-panel")
        panel.wait_for(state="visible")
        assert panel.locator("h2").inner_text() == "내 GPU 슬라이스"
        assert panel.locator("tr[data-field='memory'] th").inner_text() == "메모리"
        assert panel.locator("tr[data-field='memory'] td").inner_text() == "GPU 메모리 없음"
        shoot(page, "ko-jupyterlab-slice-panel")
        page.locator("li[data-id='sandbox-courses']").click()
        courses = page.locator("#sandbox-courses")
        courses.wait_for(state="visible")
        page.locator("#sandbox-courses section[data-course='ml101']").wait_for()
        assert courses.locator("h2").inner_text() == "강의 실습"
        assert courses.locator("button[data-action='pull']").inner_text() == "받아 오기"
        assert "ml101 (학생)" in courses.inner_text()
        # What the server extension says about the pull at the start is Korean too.
        start = courses.locator("[data-start-pull]")
        start.wait_for()
        assert start.inner_text().startswith("서버 시작 시: "), start.inner_text()
        assert "course lab" not in courses.inner_text()
        # JupyterLab's own menus come from the ko-KR language pack.
        assert page.locator(".lm-MenuBar-itemLabel", has_text="파일").count() >= 1
        shoot(page, "ko-jupyterlab-course-labs")
        page.context.close()

        # The capacity page, for an admin.
        admin = speaking(log_in(browser, hub, credentials(hub)["admin_user"]), KOREAN)
        admin.goto(f"{hub.url}/services/slices/")
        admin.locator(".slots[data-gpu='0'] .slot").first.wait_for()
        assert admin.locator("h1").inner_text() == "GPU 자원 현황"
        assert admin.locator("#source").inner_text() == "시뮬레이션 GPU"
        assert admin.locator("section h2").nth(1).inner_text() == "지금 사용 가능"
        assert "배정된 슬라이스가 없습니다." not in admin.locator("#gpus").inner_text()
        shoot(admin, "ko-capacity-page")
        admin.context.close()


def test_the_same_pages_in_english(hub: Hub) -> None:
    with chromium() as browser:
        context = browser.new_context(locale="en-US", extra_http_headers=ENGLISH)
        page = context.new_page()
        page.goto(f"{hub.url}/hub/login")
        assert page.locator(".auth-form-header").inner_text().strip() == "Sign in"
        assert page.locator("label[for=username_input]").inner_text() == "Username:"
        shoot(page, "en-login")
        context.close()

        page = speaking(log_in(browser, hub, "minji"), ENGLISH)
        page.goto(f"{hub.url}/hub/spawn/minji/second")
        page.locator(".sandbox-form").wait_for()
        assert page.locator("h1").first.inner_text() == "Server options"
        team = page.locator(".sandbox-team").inner_text()
        assert "Team startup-alpha (startup), role member." in team
        assert "GPU-hours left this month:" in team
        assert page.locator('[data-slice="cpu"]').inner_text() == "(always available)"
        shoot(page, "en-spawn-form")

        page.goto(f"{hub.url}/services/courses/")
        page.locator("section.course[data-course='ml101']").wait_for()
        assert page.locator("h1").inner_text() == "Course labs"
        assert "No labs published yet." in page.locator("#courses").inner_text()
        shoot(page, "en-courses")

        # jiho's server was started through the API (no browser, the site's default: en).
        page.context.close()
        page = speaking(log_in(browser, hub, "jiho"), ENGLISH)
        hub.wait_ready("jiho")
        page.goto(f"{hub.url}/user/jiho/lab")
        status = page.locator("#jp-main-statusbar #sandbox-slice-status")
        status.wait_for(timeout=120_000)
        page.wait_for_function(
            "() => document.querySelector('#sandbox-slice-status').dataset.slice === '7g.80gb'"
        )
        assert re.fullmatch(
            r"7g\.80gb · 80 GB · simulated · \d+ h \d+ min left", status.inner_text()
        )
        status.click()
        assert page.locator("#sandbox-slice-panel h2").inner_text() == "Your GPU slice"
        shoot(page, "en-jupyterlab")
        page.context.close()

        admin = speaking(log_in(browser, hub, credentials(hub)["admin_user"]), ENGLISH)
        admin.goto(f"{hub.url}/services/slices/")
        admin.locator(".slots[data-gpu='0'] .slot").first.wait_for()
        assert admin.locator("h1").inner_text() == "GPU capacity"
        assert admin.locator("#source").inner_text() == "simulated GPUs"
        shoot(admin, "en-capacity-page")
        admin.context.close()
