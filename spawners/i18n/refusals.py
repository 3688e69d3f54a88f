"""Refusals in the reader's language. The core's refusals carry a stable ``code`` and
their figures; their English ``message`` is what the REST API answers. Here the same
refusal is written from the catalogue for another language. Each msgid below says what
the core's English message says (tests/core/test_i18n_refusals.py holds them together)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spawners.core.model import Refusal
from spawners.core.policy import LimitRefusal
from spawners.core.refusals import RefusalCode, Refused

from .catalogue import SOURCE_LANGUAGE, translations
from .formats import PERIODS, format_gpu_hours, format_moment


def refusal_code(refusal: Refused) -> str:
    return str(refusal.code)


def refusal_text(refusal: Refused, language: str) -> str:
    """What the user reads: the English message itself, or its translation."""
    if language == SOURCE_LANGUAGE:
        return refusal.message
    t = translations(language)
    if refusal.template is not None:
        text = t.gettext(refusal.template)
        return text % dict(refusal.params) if refusal.params else text
    if isinstance(refusal, Refusal):
        return _capacity(refusal, t)
    if isinstance(refusal, LimitRefusal):
        return _limit(refusal, t, language)
    return refusal.message


def _servers(held: Sequence[tuple[str, str]], t: Any) -> str:
    return ", ".join(
        t.gettext("%(server)s: %(slice)s")
        % {"server": name or t.gettext("default server"), "slice": s}
        for name, s in held
    )


def _free(free_now: dict[str, int], t: Any) -> str:
    offered = [(name, n) for name, n in free_now.items() if n > 0]
    return ", ".join(
        t.gettext("%(count)s x %(slice)s") % {"count": n, "slice": name} for name, n in offered
    ) or t.gettext("nothing")


def _capacity(refusal: Refusal, t: Any) -> str:
    free = _free(refusal.free_now, t)
    if refusal.code is RefusalCode.NO_CAPACITY:
        return t.gettext("No %(slice)s slice is free right now. Free now: %(free)s.") % {
            "slice": refusal.slice_name,
            "free": free,
        }
    if refusal.code is RefusalCode.NOT_OFFERED:
        where = ""
        if refusal.families:
            where = t.gettext(" (a profile of %(families)s GPUs)") % {
                "families": t.gettext(" and ").join(refusal.families)
            }
        return t.gettext(
            "This site has no GPU that can hold a %(slice)s slice%(where)s. Free now: %(free)s."
        ) % {"slice": refusal.slice_name, "where": where, "free": free}
    return t.gettext("Unknown slice %(slice)s.") % {"slice": repr(refusal.slice_name)}


def _limit(refusal: LimitRefusal, t: Any, language: str) -> str:
    p = dict(refusal.params)
    code = refusal.code
    if code is RefusalCode.NO_TEAM:
        return t.gettext(
            "%(user)s is in no team of this hub, so no server can be started. Ask your "
            "team's administrator to add you to your team's group, then log in again."
        ) % {"user": p["user"]}
    if code is RefusalCode.USER_CONCURRENCY:
        if p["cap"] == 0:
            return t.gettext(
                "Limit reached: this hub allows no GPU slice per user; start a cpu server."
            )
        held = p["held"]
        return t.ngettext(
            "Limit reached: you already hold %(count)s GPU slice (%(servers)s); this hub "
            "allows %(cap)s per user. Stop one to start another.",
            "Limit reached: you already hold %(count)s GPU slices (%(servers)s); this hub "
            "allows %(cap)s per user. Stop one to start another.",
            len(held),
        ) % {"count": len(held), "servers": _servers(held, t), "cap": p["cap"]}
    if code is RefusalCode.MEMBER_CONCURRENCY:
        held = p["held"]
        return t.gettext(
            "Limit reached: at most %(cap)s GPU slice(s) per member of team %(team)s at a "
            "time, and you hold %(count)s (%(servers)s); 0 left. Stop one of your servers "
            "first, or start a cpu server."
        ) % {"cap": p["cap"], "team": p["team"], "count": len(held), "servers": _servers(held, t)}
    if code is RefusalCode.IMAGE_MIN_SLICE:
        return t.gettext(
            "The image %(image)s needs at least a %(min_slice)s slice, and %(slice)s is "
            "smaller. Choose a larger slice for it, or another image."
        ) % {"image": repr(p["image"]), "min_slice": p["min_slice"], "slice": p["slice"]}
    if code is RefusalCode.TEAM_CONCURRENCY:
        return t.gettext(
            "Limit reached: team %(team)s may hold at most %(cap)s GPU slice(s) at a time "
            "and holds %(holds)s now; 0 left. Try again when a teammate stops a server, or "
            "start a cpu server."
        ) % {"team": p["team"], "cap": p["cap"], "holds": p["holds"]}
    figures = {
        "used": format_gpu_hours(p["used"], language),
        "limit": format_gpu_hours(p["limit"], language),
        "period": t.gettext(PERIODS[p["period"]]),
        "resets": format_moment(p["resets"], language),
    }
    if code is RefusalCode.MEMBER_BUDGET:
        return (
            t.gettext(
                "GPU-hour budget used up: you have used %(used)s of your %(limit)s GPU-hours "
                "%(period)s (resets %(resets)s); 0 left. A cpu server is still available."
            )
            % figures
        )
    return t.gettext(
        "GPU-hour budget used up: team %(team)s has used %(used)s of its %(limit)s "
        "GPU-hours %(period)s (resets %(resets)s); 0 left. A cpu server is still available."
    ) % {**figures, "team": p["team"]}
