"""The spawn form: images and slices this user may pick, with live free counts, and on a
hub with teams the user's team, limits and GPU-hours left.

On a site whose GPUs are of several models, the MIG slices are listed by GPU family
(``H100 80GB``, ``H200 141GB``): each family's own profiles under its name, as
``spawners.core.allocator.slice_families`` says which GPUs can hold each slice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from spawners.core.options import Choices
from spawners.core.policy import BudgetStatus, LimitRefusal, Membership, format_hours
from spawners.core.profiles import SliceKind, slice_profile


def render_form(
    choices: Choices,
    free: dict[str, int],
    descriptions: dict[str, str],
    site_name: str,
    membership: Membership | None = None,
    budget: BudgetStatus | None = None,
    refusal: LimitRefusal | None = None,
    families: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """``families``: for each GPU slice, the GPU families that can hold it (None: the
    slices are listed without families, as on a site of one model)."""
    if refusal is not None:
        return (
            f'<div class="sandbox-form"><p>{escape(site_name)}</p>'
            f'<p class="alert alert-warning sandbox-refusal">{escape(refusal.message)}</p></div>'
        )
    images = "\n".join(
        f'<option value="{escape(i)}"{" selected" if i == choices.default_image else ""}>'
        f"{escape(i)}: {escape(descriptions.get(i, ''))}</option>"
        for i in choices.images
    )
    rows = [_slice_row(name, choices, free, families) for name in choices.slices]
    groups = _family_groups(choices.slices, families)
    if groups:
        rows = []
        for heading, names in groups:
            inner = "".join(_slice_row(n, choices, free, families) for n in names)
            if heading is None:
                rows.append(inner)
            else:
                rows.append(
                    f'<div class="sandbox-family" data-family="{escape(heading)}">'
                    f'<p class="sandbox-family-name"><strong>{escape(heading)}</strong> GPUs</p>'
                    f"{inner}</div>"
                )
    return (
        f'<div class="sandbox-form"><p>{escape(site_name)}</p>'
        f"{_team_panel(membership, budget)}"
        f'<label for="sandbox-image">Image</label>'
        f'<select id="sandbox-image" name="image" class="form-control">{images}</select>'
        f"<fieldset><legend>Slice</legend>{''.join(rows)}</fieldset></div>"
    )


def _slice_row(
    name: str,
    choices: Choices,
    free: dict[str, int],
    families: Mapping[str, Sequence[str]] | None,
) -> str:
    profile = slice_profile(name)
    count = free.get(name)
    if not profile.needs_gpu:
        label, disabled = "always available", ""
    else:
        label = f"{count or 0} free"
        disabled = " disabled" if not count else ""
    checked = " checked" if name == choices.default_slice and not disabled else ""
    on = ""
    if families and profile.kind is not SliceKind.MIG and families.get(name):
        on = f" on {' or '.join(families[name])}"
    family = (families or {}).get(name) or ()
    tag = f' data-family="{escape(" / ".join(family))}"' if family else ""
    return (
        f'<label class="sandbox-slice"><input type="radio" name="slice" value="{escape(name)}"'
        f"{checked}{disabled}{tag}> "
        f"<strong>{escape(name)}</strong> {escape(profile.description + on)}"
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


def _team_panel(membership: Membership | None, budget: BudgetStatus | None) -> str:
    if membership is None:
        return ""
    team, policy = membership.team, membership.policy
    lines = [
        f"Team <strong>{escape(team.name)}</strong> ({escape(team.kind.value)}), "
        f"role {escape(membership.role.value)}."
    ]
    limits = []
    if policy.max_slices_per_member is not None:
        limits.append(f"at most {policy.max_slices_per_member} GPU slice(s) at a time for you")
    if team.policy.max_slices_per_team is not None:
        limits.append(f"{team.policy.max_slices_per_team} for the whole team")
    if limits:
        lines.append(escape("Limits: " + ", ".join(limits) + "."))
    if budget is not None:
        lines.append(_budget_line(budget))
    return '<div class="sandbox-team">' + "<br>".join(lines) + "</div>"


def _budget_line(budget: BudgetStatus) -> str:
    parts = []
    if budget.member_limit is not None:
        parts.append(
            f"you {format_hours(max(0.0, budget.member_left or 0.0))} of "
            f"{format_hours(budget.member_limit)}"
        )
    if budget.team_limit is not None:
        parts.append(
            f"team {format_hours(max(0.0, budget.team_left or 0.0))} of "
            f"{format_hours(budget.team_limit)}"
        )
    left = budget.left
    shown = "unlimited" if left is None else format_hours(max(0.0, left))
    detail = f" ({'; '.join(parts)})" if parts else ""
    return (
        f'GPU-hours left this {escape(budget.period.value)}: <strong class="sandbox-budget" '
        f'data-left="{escape(shown)}">{escape(shown)}</strong>{escape(detail)}; '
        f"used by you: {escape(format_hours(budget.member_used))}."
    )
