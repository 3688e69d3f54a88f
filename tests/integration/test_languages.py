"""A real hub in two languages: its pages and the spawn form follow Accept-Language, a
switch on the page (?lang=) is kept in a cookie, a refusal on the spawn page is written
in the user's language, and the REST API answers as before with the refusal's code added."""

from __future__ import annotations

import json
import re

import pytest
import requests

from tests.support.hub import Hub

pytestmark = pytest.mark.integration

KOREAN = {"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-US,en;q=0.9"}


def text(page: requests.Response) -> str:
    # The hub's pages declare utf-8 in a meta tag, not in Content-Type.
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.content.decode("utf-8")))


def log_in(hub: Hub) -> requests.Session:
    """A browser-like session of the hub's first admin, logged in through the login form."""
    account = json.loads((hub.data / "credentials.json").read_text())
    session = requests.Session()
    session.get(f"{hub.url}/hub/login", timeout=30)
    answer = session.post(
        f"{hub.url}/hub/login",
        data={
            "username": account["admin_user"],
            "password": account["admin_password"],
            "_xsrf": session.cookies["_xsrf"],
        },
        timeout=30,
    )
    assert answer.status_code == 200 and "/hub/login" not in answer.url, answer.url
    return session


def test_pages_form_and_refusals_in_both_languages(make_hub) -> None:
    hub: Hub = make_hub()

    # The login page: Korean for a Korean browser, English for an English one.
    korean = requests.get(f"{hub.url}/hub/login", headers=KOREAN, timeout=30)
    assert korean.status_code == 200
    assert "사용자 이름:" in text(korean) and "비밀번호:" in text(korean)
    assert 'document.documentElement.lang = "ko"' in text(korean)
    english = requests.get(f"{hub.url}/hub/login", headers=ENGLISH, timeout=30)
    assert "Username:" in text(english) and "사용자 이름" not in text(english)

    # A switch on the page wins over the browser, and the cookie keeps it.
    session = requests.Session()
    switched = session.get(f"{hub.url}/hub/login?lang=ko", headers=ENGLISH, timeout=30)
    assert "사용자 이름:" in text(switched)
    assert session.cookies.get("sandbox-lang") == "ko"
    again = session.get(f"{hub.url}/hub/login", headers=ENGLISH, timeout=30)
    assert "사용자 이름:" in text(again)

    # The whole GPU goes to one user; the next one is refused for capacity.
    assert hub.spawn("first", {"slice": "7g.80gb"}).status_code in (201, 202)
    refused = hub.spawn("second", {"slice": "7g.80gb"})
    assert refused.status_code == 409
    body = refused.json()
    assert set(body) == {"status", "message", "code"}
    assert body["code"] == "no-capacity" and body["status"] == 409
    assert body["message"].startswith("No 7g.80gb slice is free right now. Free now:")
    assert refused.headers["X-Sandbox-Code"] == "no-capacity"
    # Other API answers are as JupyterHub writes them.
    missing = hub.get("/users/nobody-here")
    assert missing.status_code == 404 and "code" not in missing.json()

    admin = log_in(hub)
    home = admin.get(f"{hub.url}/hub/home", headers=KOREAN, timeout=30)
    assert home.status_code == 200
    assert "내 서버 시작" in text(home) and "이름 있는 서버" in text(home)
    home_en = admin.get(f"{hub.url}/hub/home", headers=ENGLISH, timeout=30)
    assert "Start my server" in text(home_en)
    form = admin.get(f"{hub.url}/hub/spawn", headers=KOREAN, timeout=30)
    assert form.status_code == 200
    shown = text(form)
    assert "서버 옵션" in shown and "이미지" in shown and "슬라이스" in shown
    assert "(항상 사용 가능)" in shown and "(0개 사용 가능)" in shown
    assert "MIG 인스턴스: 연산 7/7, 메모리 80 GB" in shown
    form_en = admin.get(f"{hub.url}/hub/spawn", headers=ENGLISH, timeout=30)
    assert "Server options" in text(form_en) and "(always available)" in text(form_en)

    # The form's POST with a slice that is taken: the page says so in Korean, with the code.
    page = admin.post(
        f"{hub.url}/hub/spawn",
        headers={**KOREAN, "X-XSRFToken": admin.cookies["_xsrf"]},
        files={"image": (None, "base"), "slice": (None, "7g.80gb")},
        timeout=60,
        allow_redirects=False,
    )
    # JupyterHub shows the form again with the refusal, under the refusal's status.
    assert page.status_code == 409, (page.status_code, page.text[:500])
    assert 'id="spawn_form"' in page.text
    assert 'data-code="no-capacity"' in page.text
    assert "no-capacity" in text(page)  # shown: what a user quotes to the administrators
    assert "지금은 비어 있는 7g.80gb 슬라이스가 없습니다." in text(page)
    assert hub.server("admin") is None
