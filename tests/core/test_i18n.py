"""The hub side in the reader's language: which language a request gets, refusals and
the spawn form in Korean, and the English that stays exactly what the API says."""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass

import pytest

from spawners.core.images import image_table
from spawners.core.model import Refusal, RefusalCode
from spawners.core.options import Choices
from spawners.core.policy import Admission, LimitCode, LimitRefusal, no_team_refusal
from spawners.form import render_form
from spawners.i18n import choose_language, parse_accept_language, refusal_text
from spawners.i18n.refusals import _capacity, _limit
from tests.policy.conftest import MARCH_10, teams_from_yaml

HANGUL = re.compile(r"[\uac00-\ud7a3]")
LANGS = ("en", "ko")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"accept_language": "ko-KR,ko;q=0.9,en-US;q=0.8"}, "ko"),
        ({"accept_language": "en-US,en;q=0.9", "default": "ko"}, "en"),
        ({"accept_language": "fr-FR, de;q=0.5", "default": "ko"}, "ko"),
        ({"accept_language": "en;q=0.2, ko;q=0.8"}, "ko"),
        ({"accept_language": "ko;q=0, en"}, "en"),
        ({"accept_language": None, "default": "ko"}, "ko"),
        ({"cookie": "en", "accept_language": "ko-KR", "default": "ko"}, "en"),
        ({"query": "ko", "cookie": "en", "accept_language": "en"}, "ko"),
        ({"query": "xx", "cookie": "ko", "accept_language": "en"}, "ko"),
        ({"accept_language": "*", "default": "ko"}, "ko"),
        ({"accept_language": "", "default": "zz"}, "en"),
    ],
)
def test_choose_language(kwargs, expected) -> None:
    assert choose_language(available=LANGS, **kwargs) == expected


def test_accept_language_weights_and_junk() -> None:
    assert parse_accept_language("en;q=0.5, ko-KR, <script>, fr;q=abc, de;q=0.7") == [
        "ko-KR",
        "de",
        "en",
    ]


@dataclass
class Record:
    user: str
    team: str | None
    slice_name: str
    weight: float
    activated_at: float | None
    released_at: float | None
    server_name: str = ""


TEAMS = """
alpha:
  kind: startup
  groups: [alpha]
  policy:
    max_slices_per_member: 1
    max_slices_per_team: 2
    gpu_hours: {per_team: 1.0, per_member: 0.5}
"""


def limit_refusals() -> list[LimitRefusal]:
    teams = teams_from_yaml(TEAMS)
    member = teams.membership({"alpha"})
    admit = Admission(user="alice", slice_name="1g.10gb", membership=member)
    now = MARCH_10 + 7200
    mine = Record("alice", "alpha", "1g.10gb", 1 / 7, MARCH_10, None, "train")
    theirs = [Record(u, "alpha", "1g.10gb", 1 / 7, MARCH_10, None) for u in ("b", "c")]
    spent = Record("alice", "alpha", "7g.80gb", 1.0, MARCH_10, MARCH_10 + 3600)
    team_spent = Record("b", "alpha", "7g.80gb", 1.0, MARCH_10, MARCH_10 + 3600)
    user_cap = Admission(user="alice", slice_name="1g.10gb", max_gpu_slices_per_user=1)
    found = [
        no_team_refusal("alice"),
        admit.admit([mine], now),
        admit.admit(theirs, now),
        admit.admit([spent], now),
        Admission(user="bob", slice_name="1g.10gb", membership=member).admit(
            [spent, team_spent], now
        ),
        user_cap.admit([mine], now),
        Admission(user="alice", slice_name="1g.10gb", max_gpu_slices_per_user=0).admit([], now),
    ]
    assert [r.code for r in found] == [
        LimitCode.NO_TEAM,
        LimitCode.MEMBER_CONCURRENCY,
        LimitCode.TEAM_CONCURRENCY,
        LimitCode.MEMBER_BUDGET,
        LimitCode.TEAM_BUDGET,
        LimitCode.USER_CONCURRENCY,
        LimitCode.USER_CONCURRENCY,
    ]
    return found


CAPACITY = [
    Refusal(RefusalCode.NO_CAPACITY, "3g.40gb", {"1g.10gb": 2, "3g.40gb": 0}),
    Refusal(RefusalCode.NO_CAPACITY, "7g.80gb", {"7g.80gb": 0}),
    Refusal(RefusalCode.NOT_OFFERED, "1g.18gb", {"1g.10gb": 7}, ("H200 141GB",)),
    Refusal(RefusalCode.NO_SUCH_SLICE, "9g.90gb", {}),
]


def test_the_catalogue_messages_say_what_the_core_says() -> None:
    """The msgids, rendered untranslated, are the core's English messages word for word."""
    english = gettext.NullTranslations()
    for refusal in limit_refusals():
        assert _limit(refusal, english, "en") == refusal.message
    for refusal in CAPACITY:
        assert _capacity(refusal, english) == refusal.message


def test_refusals_in_korean_keep_their_figures() -> None:
    refusals = [*limit_refusals(), *CAPACITY]
    for refusal in refusals:
        assert refusal_text(refusal, "en") == refusal.message
        korean = refusal_text(refusal, "ko")
        assert HANGUL.search(korean), korean
        assert "%(" not in korean and "Limit reached" not in korean
    no_capacity = refusal_text(CAPACITY[0], "ko")
    assert no_capacity == (
        "지금은 비어 있는 3g.40gb 슬라이스가 없습니다. 지금 사용 가능: 1g.10gb 2개."
    )
    member = refusal_text(refusals[1], "ko")
    assert "alpha 팀" in member and "train: 1g.10gb" in member
    budget = refusal_text(refusals[3], "ko")
    # Korean dates: year, month, day (the month resets on 1 April 2025, UTC).
    assert "GPU 시간" in budget and "2025년 4월 1일 00:00 UTC" in budget
    assert "0.50 GPU 시간" in budget


def test_the_form_in_korean() -> None:
    teams = teams_from_yaml(TEAMS)
    choices = Choices(
        images=("base",),
        slices=("cpu", "1g.10gb", "3g.40gb"),
        default_image="base",
        default_slice="cpu",
    )
    html = render_form(
        choices,
        {"1g.10gb": 3, "3g.40gb": 0},
        image_table({"base": {"description": "Python, PyTorch, JupyterLab: start here"}}),
        "Hub",
        membership=teams.membership({"alpha"}),
        language="ko",
    )
    text = re.sub(r"<[^>]+>", "", html)
    assert "이미지" in text and "슬라이스" in text
    assert "처음이라면 여기서 시작하세요" in text
    assert "(3개 사용 가능)" in text and "(항상 사용 가능)" in text
    assert "MIG 인스턴스: 연산 1/7, 메모리 10 GB" in text
    assert "팀 alpha (스타트업), 역할: 팀원." in text
    assert " free" not in text and "Team" not in text
    english = render_form(choices, {"1g.10gb": 3}, {}, "Hub")
    assert "(3 free)" in english and "MIG instance: 1/7 of the compute, 10 GB" in english
