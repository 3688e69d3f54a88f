"""A real hub in two languages: its pages and the spawn form follow Accept-Language, a
switch on the page (?lang=) is kept in a cookie, a refusal on the spawn page is written
in the user's language, and the REST API answers as before with the refusal's code added;
NativeAuthenticator's pages and messages and the token page follow the language too."""

from __future__ import annotations

import json
import re
import secrets

import pytest
import requests

from tests.support.hub import Hub

from .conftest import REFUSING_SITE

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
    hub: Hub = make_hub(REFUSING_SITE)

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


def form_post(
    session: requests.Session, url: str, fields: dict[str, str], headers: dict[str, str]
) -> requests.Response:
    session.get(url, headers=headers, timeout=30)  # sets the _xsrf cookie the form echoes
    fields = {**fields, "_xsrf": session.cookies.get("_xsrf", "")}
    return session.post(url, data=fields, headers=headers, timeout=30)


def korean_free(page: requests.Response) -> bool:
    """No Hangul on the page but the language switch's own name for Korean."""
    return re.search(r"[\uac00-\ud7a3]", text(page).replace("한국어", "")) is None


def test_sign_up_authorization_password_and_token_pages_in_both_languages(make_hub) -> None:
    hub: Hub = make_hub()

    # NativeAuthenticator's sign-up page, and the messages its handler writes after a POST.
    korean = requests.get(f"{hub.url}/hub/signup", headers=KOREAN, timeout=30)
    assert korean.status_code == 200
    assert "가입하기" in text(korean) and "비밀번호 확인:" in text(korean)
    assert "value='계정 만들기'" in korean.content.decode("utf-8")  # the submit button
    english = requests.get(f"{hub.url}/hub/signup", headers=ENGLISH, timeout=30)
    assert "Confirm password:" in text(english) and korean_free(english)
    password = secrets.token_urlsafe(18)
    mismatch = form_post(
        requests.Session(),
        f"{hub.url}/hub/signup",
        {"username": "newcomer", "signup_password": password, "signup_password_confirmation": "x"},
        KOREAN,
    )
    assert "비밀번호와 비밀번호 확인이 일치하지 않습니다." in text(mismatch)
    signup = {"username": "newcomer", "signup_password": password}
    sent = form_post(
        requests.Session(),
        f"{hub.url}/hub/signup",
        {**signup, "signup_password_confirmation": password},
        KOREAN,
    )
    assert sent.status_code == 200
    assert "가입 정보를 관리자에게 보냈습니다." in text(sent)
    # Signing in before an administrator approves: the hub's own message, in Korean.
    early = form_post(
        requests.Session(),
        f"{hub.url}/hub/login",
        {"username": "newcomer", "password": password},
        KOREAN,
    )
    assert "가입 신청이 아직 관리자의 승인을 받지 않았습니다." in text(early)
    early_en = form_post(
        requests.Session(),
        f"{hub.url}/hub/login",
        {"username": "newcomer", "password": password},
        ENGLISH,
    )
    assert "has not been approved by an administrator yet" in text(early_en)

    admin = log_in(hub)
    area = admin.get(f"{hub.url}/hub/authorize", headers=KOREAN, timeout=30)
    assert area.status_code == 200
    assert "사용자 승인" in text(area) and "newcomer" in text(area) and "승인됨" in text(area)
    area_en = admin.get(f"{hub.url}/hub/authorize", headers=ENGLISH, timeout=30)
    assert "Authorize users" in text(area_en) and korean_free(area_en)
    mine = admin.get(f"{hub.url}/hub/change-password", headers=KOREAN, timeout=30)
    assert "현재 비밀번호:" in text(mine) and "새 비밀번호 확인:" in text(mine)
    mine_en = admin.get(f"{hub.url}/hub/change-password", headers=ENGLISH, timeout=30)
    assert "Current password:" in text(mine_en) and korean_free(mine_en)

    # JupyterHub's token page, its lifetimes included.
    token = admin.get(f"{hub.url}/hub/token", headers=KOREAN, timeout=30)
    assert token.status_code == 200
    shown = text(token)
    assert "새 API 토큰 발급" in shown and "토큰 유효 기간" in shown and "1시간" in shown
    assert re.search(
        r'<option value="[^"]*"\s*selected="selected">만료 없음</option>',
        token.content.decode("utf-8"),
    )
    token_en = admin.get(f"{hub.url}/hub/token", headers=ENGLISH, timeout=30)
    assert "Request new API token" in text(token_en) and "1 hour" in text(token_en)
    assert korean_free(token_en)

    # JupyterHub's page for a server that is not running (the admin has none here).
    stopped = admin.get(f"{hub.url}/hub/user/admin/", headers=KOREAN, timeout=30)
    assert stopped.status_code == 424, stopped.status_code
    assert "서버가 실행 중이 아닙니다" in text(stopped) and "서버 시작" in text(stopped)
    stopped_en = admin.get(f"{hub.url}/hub/user/admin/", headers=ENGLISH, timeout=30)
    assert "Server not running" in text(stopped_en) and korean_free(stopped_en)
