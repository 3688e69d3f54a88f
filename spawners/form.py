"""The spawn form: images and slices this user may pick, with live free counts, and on a
hub with teams the user's team, limits and GPU-hours left, in the reader's language
(spawners/i18n; English is the source).

On a site whose GPUs are of several models, the MIG slices are listed by GPU family
(``H100 80GB``, ``H200 141GB``): each family's own profiles under its name, as
``spawners.core.allocator.slice_families`` says which GPUs can hold each slice."""

from __future__ import annotations

import gettext
from collections.abc import Mapping, Sequence
from html import escape

from spawners.core.images import Image, ImageTable
from spawners.core.options import Choices
from spawners.core.policy import BudgetStatus, LimitRefusal, Membership
from spawners.core.profiles import SliceKind, SliceProfile, slice_profile
from spawners.i18n import (
    N_,
    PERIODS,
    SOURCE_LANGUAGE,
    format_gpu_hours,
    refusal_text,
    translations,
)

_Tr = gettext.NullTranslations


def render_form(
    choices: Choices,
    free: dict[str, int],
    site_images: ImageTable,
    site_name: str,
    membership: Membership | None = None,
    budget: BudgetStatus | None = None,
    refusal: LimitRefusal | None = None,
    families: Mapping[str, Sequence[str]] | None = None,
    language: str = SOURCE_LANGUAGE,
    site_description: str = "",
) -> str:
    """``families``: for each GPU slice, the GPU families that can hold it (None: the
    slices are listed without families, as on a site of one model). ``language``: the
    reader's (see image_description). ``site_description``: the site file's, shown
    under its name ("" for none)."""
    t = translations(language)
    _ = t.gettext
    header = f"<p>{escape(site_name)}</p>"
    if site_description:
        header += f'<p class="sandbox-site-description">{escape(site_description)}</p>'
    if refusal is not None:
        return (
            f'<div class="sandbox-form">{header}'
            f'<p class="alert alert-warning sandbox-refusal" data-code="{escape(refusal.code)}">'
            f"{escape(refusal_text(refusal, language))} "
            f'<code class="sandbox-refusal-code">{escape(refusal.code)}</code></p></div>'
        )
    images = "\n".join(
        f'<option value="{escape(i)}"{" selected" if i == choices.default_image else ""}>'
        f"{escape(i)}: {escape(image_description(site_images.get(i), language))}</option>"
        for i in choices.images
    )
    rows = [_slice_row(name, choices, free, families, language) for name in choices.slices]
    groups = _family_groups(choices.slices, families)
    if groups:
        rows = []
        for heading, names in groups:
            inner = "".join(_slice_row(n, choices, free, families, language) for n in names)
            if heading is None:
                rows.append(inner)
            else:
                title = _("%(family)s GPUs") % {"family": f"<strong>{escape(heading)}</strong>"}
                rows.append(
                    f'<div class="sandbox-family" data-family="{escape(heading)}">'
                    f'<p class="sandbox-family-name">{title}</p>'
                    f"{inner}</div>"
                )
    # Messages outside the f-strings: Babel's extractor does not read inside them.
    image_label, slice_legend = escape(_("Image")), escape(_("Slice"))
    return (
        f'<div class="sandbox-form">{header}'
        f"{_team_panel(membership, budget, t, language)}"
        f'<label for="sandbox-image">{image_label}</label>'
        f'<select id="sandbox-image" name="image" class="form-control">{images}</select>'
        f"<fieldset><legend>{slice_legend}</legend>{''.join(rows)}</fieldset></div>"
    )


def image_description(image: Image | None, language: str) -> str:
    """An image's description for a reader of ``language``: the site's own text in that
    language when it gives its description by language; else its one text, translated
    when the catalogue knows it (the defaults' are), as written when not."""
    if image is None:
        return ""
    own = image.description_in(language, SOURCE_LANGUAGE)
    if own is not None:
        return own
    return translations(language).gettext(image.text) if image.text else ""


def slice_description(profile: SliceProfile, language: str) -> str:
    """The profile's description (the core's English one, or its translation)."""
    if language == SOURCE_LANGUAGE:
        return profile.description
    _ = translations(language).gettext
    if profile.kind is SliceKind.MIG:
        return _("MIG instance: %(compute)s/7 of the compute, %(gb)s GB") % {
            "compute": profile.compute,
            "gb": profile.memory_gb,
        }
    if profile.kind is SliceKind.MPS:
        return _("MPS share of a whole GPU: %(threads)s%% of the SMs, %(gb)s GB pinned") % {
            "threads": profile.mps_thread_percentage,
            "gb": profile.memory_gb,
        }
    if profile.kind is SliceKind.GPU:
        return _("A whole GPU that is not in MIG mode")
    return _("No GPU: CPU only")


def _slice_row(
    name: str,
    choices: Choices,
    free: dict[str, int],
    families: Mapping[str, Sequence[str]] | None,
    language: str,
) -> str:
    _ = translations(language).gettext
    profile = slice_profile(name)
    count = free.get(name)
    if not profile.needs_gpu:
        label, disabled = _("always available"), ""
    else:
        label = _("%(count)s free") % {"count": count or 0}
        disabled = " disabled" if not count else ""
    checked = " checked" if name == choices.default_slice and not disabled else ""
    on = ""
    if families and profile.kind is not SliceKind.MIG and families.get(name):
        on = _(" on %(families)s") % {"families": _(" or ").join(families[name])}
    family = (families or {}).get(name) or ()
    tag = f' data-family="{escape(" / ".join(family))}"' if family else ""
    return (
        f'<label class="sandbox-slice"><input type="radio" name="slice" value="{escape(name)}"'
        f"{checked}{disabled}{tag}> "
        f"<strong>{escape(name)}</strong> {escape(slice_description(profile, language) + on)}"
        f' <span class="sandbox-free" data-slice="{escape(name)}">({escape(label)})</span></label><br>'
    )


def _family_groups(
    slices: Sequence[str], families: Mapping[str, Sequence[str]] | None
) -> list[tuple[str | None, list[str]]]:
    """The form's sections: the slices that are not MIG (cpu first) stay where they
    are; MIG slices go under their GPU families, in the order the site lists them.
    Empty when there is one family or none (nothing to group)."""
    if not families:
        return []
    headings: dict[str, list[str]] = {}
    for name in slices:
        if slice_profile(name).kind is SliceKind.MIG:
            heading = " / ".join(families.get(name) or ()) or "MIG"
            headings.setdefault(heading, []).append(name)
    if len(headings) < 2:
        return []
    before = [n for n in slices if slice_profile(n).kind is SliceKind.CPU]
    after = [n for n in slices if slice_profile(n).kind not in (SliceKind.CPU, SliceKind.MIG)]
    groups: list[tuple[str | None, list[str]]] = [(None, before)] if before else []
    groups += list(headings.items())
    if after:
        groups.append((None, after))
    return groups


_KINDS = {"startup": N_("startup"), "course": N_("course"), "staff": N_("staff")}
_ROLES = {"member": N_("member"), "instructor": N_("instructor")}


def _team_panel(
    membership: Membership | None, budget: BudgetStatus | None, t: _Tr, language: str
) -> str:
    if membership is None:
        return ""
    _ = t.gettext
    team, policy = membership.team, membership.policy
    lines = [
        _("Team %(team)s (%(kind)s), role %(role)s.")
        % {
            "team": f"<strong>{escape(team.name)}</strong>",
            "kind": escape(_(_KINDS[team.kind.value])),
            "role": escape(_(_ROLES[membership.role.value])),
        }
    ]
    limits = []
    if policy.max_slices_per_member is not None:
        limits.append(
            _("at most %(count)s GPU slice(s) at a time for you")
            % {"count": policy.max_slices_per_member}
        )
    if team.policy.max_slices_per_team is not None:
        limits.append(
            _("%(count)s for the whole team") % {"count": team.policy.max_slices_per_team}
        )
    if limits:
        lines.append(escape(_("Limits: %(limits)s.") % {"limits": _(", ").join(limits)}))
    if budget is not None:
        lines.append(_budget_line(budget, t, language))
    return '<div class="sandbox-team">' + "<br>".join(lines) + "</div>"


def _budget_line(budget: BudgetStatus, t: _Tr, language: str) -> str:
    _ = t.gettext

    def hours(value: float) -> str:
        return format_gpu_hours(value, language)

    parts = []
    if budget.member_limit is not None:
        parts.append(
            _("you %(left)s of %(limit)s")
            % {
                "left": hours(max(0.0, budget.member_left or 0.0)),
                "limit": hours(budget.member_limit),
            }
        )
    if budget.team_limit is not None:
        parts.append(
            _("team %(left)s of %(limit)s")
            % {"left": hours(max(0.0, budget.team_left or 0.0)), "limit": hours(budget.team_limit)}
        )
    left = budget.left
    shown = _("unlimited") if left is None else hours(max(0.0, left))
    detail = f" ({'; '.join(parts)})" if parts else ""
    strong = f'<strong class="sandbox-budget" data-left="{escape(shown)}">{escape(shown)}</strong>'
    return _("GPU-hours left %(period)s: %(left)s%(detail)s; used by you: %(used)s.") % {
        "period": escape(_(PERIODS[budget.period.value])),
        "left": strong,
        "detail": escape(detail),
        "used": escape(hours(budget.member_used)),
    }
