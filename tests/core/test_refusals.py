"""One refusal type for the whole project: every code of the closed set has its HTTP
status in the edge's one table and a message in every language the hub has; the pure
core names no HTTP status."""

from __future__ import annotations

import os
import pwd
import re
from pathlib import Path

import pytest

from spawners.core.options import Choices, OptionsError, parse_user_options
from spawners.core.policy import min_slice_refusal
from spawners.core.refusals import (
    BODY_NOT_JSON,
    BODY_NOT_OBJECT,
    LOGIN_FIRST,
    NO_SLICE_CONFIGURATION,
    SLICE_NOT_CREATED,
    RefusalCode,
    Refused,
    answer_timeout,
    engine_start_timeout,
    queue_ended,
    server_exited,
    start_crowded,
)
from spawners.i18n import SOURCE_LANGUAGE, available_languages, refusal_text
from spawners.refusal_status import STATUS, http_error, http_status
from tests.core.test_i18n import CAPACITY, HANGUL, limit_refusals

CORE = Path(__file__).resolve().parents[2] / "spawners" / "core"
HTTP_STATUS = re.compile(r"\bstatus(?:_code)?\s*(?::[^=\n]*)?=\s*[1-5]\d\d\b")
LANGUAGES = [lang for lang in available_languages() if lang != SOURCE_LANGUAGE]


def options_refusal(raw: object) -> OptionsError:
    choices = Choices(("base",), ("cpu", "1g.10gb"), "base", "cpu")
    with pytest.raises(OptionsError) as info:
        parse_user_options(raw, choices, ("base", "speech"))
    return info.value


def account_refusals(tmp: Path) -> list[Refused]:
    """The unix accounts' refusals, from the checks that make them."""
    from spawners.backends.unix_accounts import AccountError, _check_ours, _prepare_home, _run

    made = []
    (tmp / "home").write_text("a file, not a folder")
    for check in (
        lambda: _check_ours(pwd.getpwuid(0), "alice"),  # a system account
        lambda: _prepare_home(tmp / "home", os.getuid(), os.getgid()),
        lambda: _run(["false"], "create the account jupyter-alice"),
        lambda: _run([str(tmp / "no-such-program")], "create the account jupyter-alice"),
    ):
        with pytest.raises(AccountError) as refused:
            check()
        made.append(refused.value)
    return made


def examples(tmp: Path) -> list[Refused]:
    """A refusal of every kind the project makes, each as its maker builds it."""
    too_small = min_slice_refusal("speech", "1g.10gb", "cpu")
    assert too_small is not None
    return [
        *limit_refusals(),
        too_small,
        *CAPACITY,
        options_refusal([]),
        options_refusal({"gpu": "x"}),
        options_refusal({"image": 3}),
        options_refusal({"image": "genomix"}),
        options_refusal({"image": "speech"}),
        queue_ended(RefusalCode.QUEUE_EXPIRED, "7g.80gb", 8),
        queue_ended(RefusalCode.QUEUE_EXPIRED, "7g.80gb", 3600),
        queue_ended(RefusalCode.QUEUE_LEFT, "1g.10gb", 3600),
        LOGIN_FIRST,
        BODY_NOT_JSON,
        BODY_NOT_OBJECT,
        *service_refusals(),
        *account_refusals(tmp),
        NO_SLICE_CONFIGURATION,
        SLICE_NOT_CREATED,
        start_crowded(300),
        engine_start_timeout(120),
        answer_timeout(30),
        server_exited(1),
    ]


def service_refusals() -> list[Refused]:
    """The services' and the server extension's own refusals."""
    from extensions.courses import handlers as courses
    from extensions.sandbox_server.course_handlers import COURSES_NOT_SET_UP, bad_folder
    from extensions.slices_service.authz import missing_scope
    from extensions.slices_service.usage_api import LIMIT_NOT_A_NUMBER
    from hub_config.native import CROSS_SITE_APPROVAL

    return [
        CROSS_SITE_APPROVAL,
        courses.USERS_ONLY,
        courses.HUB_AWAY_FOR_YOU,
        courses.HUB_NONSENSE_ABOUT_YOU,
        courses.HUB_SILENT_ABOUT_GROUPS,
        courses.HUB_AWAY_FOR_GROUPS,
        courses.HUB_NONSENSE_ABOUT_GROUPS,
        COURSES_NOT_SET_UP,
        bad_folder("Give a folder inside your home to publish."),
        LIMIT_NOT_A_NUMBER,
        missing_scope("Only admins can list allocations", "read:users"),
    ]


def test_the_core_names_no_http_status() -> None:
    found = [
        f"{path.relative_to(CORE)}:{n}: {line.strip()}"
        for path in sorted(CORE.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if HTTP_STATUS.search(line) or "HTTPError" in line or "tornado" in line
    ]
    assert found == []


def test_the_scan_finds_a_status_written_in_the_core() -> None:
    for line in ("    status: int = 403", "raise X(msg, status=400)", "status_code = 409"):
        assert HTTP_STATUS.search(line), line


def test_every_code_has_one_http_status() -> None:
    assert set(STATUS) == set(RefusalCode)
    assert all(400 <= status < 600 for status in STATUS.values())
    assert http_status("no-capacity") == 409 and http_status(RefusalCode.NO_TEAM) == 403
    with pytest.raises(ValueError):
        http_status("no-such-code")


def test_every_code_is_made_somewhere_and_written_in_every_language(tmp_path: Path) -> None:
    made = examples(tmp_path)
    assert {r.code for r in made} == set(RefusalCode)
    for refusal in made:
        assert refusal_text(refusal, SOURCE_LANGUAGE) == refusal.message
        for language in LANGUAGES:
            shown = refusal_text(refusal, language)
            assert shown != refusal.message and "%(" not in shown, (refusal.code, shown)
            if language == "ko":
                assert HANGUL.search(shown), (refusal.code, shown)


def test_the_edge_error_carries_status_code_and_both_messages() -> None:
    refusal = queue_ended(RefusalCode.QUEUE_EXPIRED, "7g.80gb", 8)
    error = http_error(refusal.code, refusal.message, refusal_text(refusal, "ko"))
    assert error.status_code == 409 and error.log_message == refusal.message
    assert error.headers == {"X-Sandbox-Code": "queue-expired"}
    assert refusal.message.startswith("No 7g.80gb slice became free within 8 s")
    assert "8초" in error.jupyterhub_html_message
    assert '<code class="sandbox-refusal-code">queue-expired</code>' in (
        error.jupyterhub_html_message
    )
