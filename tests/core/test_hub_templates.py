"""The hub's templates compile against JupyterHub's own (which they extend), with the
i18n extension the hub enables; a template that does not would fail only when its page
is first shown. NativeAuthenticator's pages are all overridden here, and every message
its handlers write is shown in Korean; the token page lists the lifetimes JupyterHub
offers, in the page's language."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import nativeauthenticator
import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
from jupyterhub._data import DATA_FILES_PATH

import hub_config.native
from hub_config.i18n import TEMPLATES
from spawners.i18n import translations

STOCK = Path(DATA_FILES_PATH) / "templates"
NATIVE = Path(nativeauthenticator.__file__).resolve().parent
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# Stand-ins for the values NativeAuthenticator puts into its f-string messages.
SAMPLES = {"user_name": "kim", "username": "kim", "minimum_password_length": "8"}


def environment() -> Environment:
    """The hub's loaders in the hub's order: ours, JupyterHub's, NativeAuthenticator's."""
    loader = ChoiceLoader(
        [
            PrefixLoader({"templates": FileSystemLoader([str(STOCK)])}, "/"),
            FileSystemLoader([str(TEMPLATES), str(STOCK)]),
            FileSystemLoader([str(NATIVE / "templates")]),
        ]
    )
    return Environment(loader=loader, autoescape=True, extensions=["jinja2.ext.i18n"])


def render(name: str, language: str, **values: Any) -> str:
    catalogue = translations(language)
    page = environment().get_template(name)
    return page.render(
        _=catalogue.gettext,
        gettext=catalogue.gettext,
        ngettext=catalogue.ngettext,
        sandbox_language=language,
        sandbox_languages=[("ko", "한국어"), ("en", "English")],
        base_url="/hub/",
        static_url=lambda *args, **kwargs: "/hub/static/",
        parsed_scopes=set(),
        xsrf="xsrf",
        **values,
    )


@pytest.mark.parametrize("name", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_template_compiles_over_jupyterhubs(name: str) -> None:
    assert (STOCK / "page.html").is_file(), STOCK
    template = environment().get_template(name)
    # A page defines blocks; native-messages.html only macros, imported by the pages.
    assert template.blocks or "{% macro" in (TEMPLATES / name).read_text()
    # JupyterHub's own page of that name (the parent, where there is one) loads too.
    if (STOCK / name).is_file():
        assert environment().get_template(f"templates/{name}").blocks


def test_every_nativeauthenticator_page_is_overridden() -> None:
    theirs = {p.name for p in (NATIVE / "templates").glob("*.html")}
    assert {"signup.html", "change-password.html", "authorization-area.html"} <= theirs
    assert sorted(theirs - {p.name for p in TEMPLATES.glob("*.html")}) == []


def native_messages() -> list[str]:
    """Every message NativeAuthenticator's handlers, and the hub's login handler that
    replaces its own, give its pages (what they assign to ``message`` or ``error``),
    f-strings filled with SAMPLES."""

    def text(node: ast.expr) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    assert isinstance(part.value, ast.Name), ast.dump(part)
                    parts.append(SAMPLES[part.value.id])
                else:
                    parts.append(text(part) or "")
            return "".join(parts)
        return None

    found = []
    sources = [NATIVE / "handlers.py", Path(hub_config.native.__file__)]
    for node in ast.walk(ast.parse("\n".join(p.read_text() for p in sources))):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in ("message", "error"):
                value = text(node.value)
                if value is not None:
                    found.append(value)
    return found


def test_nativeauthenticators_messages_are_found() -> None:
    messages = native_messages()
    assert "Your information has been sent to the admin." in messages
    assert "The password for kim has been changed successfully" in messages
    assert "Your sign-up has not been approved by an administrator yet." in messages
    assert len(messages) >= 15


@pytest.mark.parametrize("message", native_messages())
def test_every_nativeauthenticator_message_is_shown_in_korean(message: str) -> None:
    catalogue = translations("ko")
    macros = (
        environment().get_template("native-messages.html").make_module({"_": catalogue.gettext})
    )
    shown = str(macros.native_message(message, "kim"))
    assert HANGUL.search(shown), (message, shown)
    # The figures and names in the message are kept.
    for value in SAMPLES.values():
        assert (value in message) == (value in shown), (message, shown)
    # In English the message stays English (reworded where upstream's read badly).
    english = translations("en")
    macros = environment().get_template("native-messages.html").make_module({"_": english.gettext})
    assert not HANGUL.search(str(macros.native_message(message, "kim")))


def test_an_unknown_message_is_shown_as_it_came_and_escaped() -> None:
    catalogue = translations("ko")
    macros = (
        environment().get_template("native-messages.html").make_module({"_": catalogue.gettext})
    )
    assert str(macros.native_message("A <b>new</b> message")) == "A &lt;b&gt;new&lt;/b&gt; message"
    approved = str(macros.native_message("<i>lee</i> has been authorized!"))
    assert approved == "&lt;i&gt;lee&lt;/i&gt; 사용자를 승인했습니다."


def options(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<option value="(\d*)"[^>]*>([^<]*)</option>', page)


@pytest.mark.parametrize(
    ("longest", "english", "korean"),
    [
        (0, ["1 hour", "1 day", "1 week", "1 month", "1 year", "Never expires"], "만료 없음"),
        (7200, ["1 hour", "Max (2 hours)"], "최대 (2시간)"),
        (5 * 86400, ["1 hour", "1 day", "Max (5 days)"], "최대 (5일)"),
        (86400, ["1 hour", "1 day"], "1일"),
    ],
)
def test_token_lifetimes_as_jupyterhub_offers_them(
    longest: int, english: list[str], korean: str
) -> None:
    """JupyterHub's TokenPageHandler: the lifetimes up to token_expires_in_max_seconds,
    then the maximum itself where it is not one of them ("Never" when there is none),
    the last one selected."""
    values = {"token_expires_in_max_seconds": longest, "api_tokens": [], "oauth_clients": []}
    shown = options(render("token.html", "en", **values))
    assert [label for _value, label in shown] == english
    assert shown[-1][0] == ("" if longest in (0, 7200, 5 * 86400) else str(longest))
    assert re.search(
        r'<option value="\d*" selected="selected">', render("token.html", "en", **values)
    )
    assert options(render("token.html", "ko", **values))[-1][1] == korean


def test_native_pages_in_korean_and_english() -> None:
    signup = {
        "alert": "alert-info",
        "result_message": "Your information has been sent to the admin.",
    }
    korean = render("signup.html", "ko", **signup)
    assert "가입하기" in korean and "비밀번호 확인:" in korean and "계정 만들기" in korean
    assert "가입 정보를 관리자에게 보냈습니다." in korean
    english = render("signup.html", "en", **signup)
    assert "Confirm password:" in english and not HANGUL.search(english.replace("한국어", ""))
    users = [
        type(
            "UserInfo",
            (),
            {"username": "lee", "email": "", "has_2fa": False, "is_authorized": False},
        )
    ]
    area = render("authorization-area.html", "ko", users=users, ask_email=False)
    assert "사용자 승인" in area and "아니요" in area and 'href="/hub/authorize/lee"' in area
    # The English row as NativeAuthenticator shows it: one "No" cell, the pending approval.
    english_area = render("authorization-area.html", "en", users=users, ask_email=False)
    row = english_area[english_area.index("<tr id=lee>") :].split("</tr>")[0]
    assert re.findall(r"<td>([^<]*)</td>", row) == ["lee", "Off", "No"]
