"""The spawn form: images and slices this user may pick, with live free counts, and on a
hub with teams the user's team, limits and GPU-hours left."""

from __future__ import annotations

from html import escape

from spawners.core.options import Choices
from spawners.core.policy import BudgetStatus, LimitRefusal, Membership, format_hours
from spawners.core.profiles import slice_profile


def render_form(
    choices: Choices,
    free: dict[str, int],
    descriptions: dict[str, str],
    site_name: str,
    membership: Membership | None = None,
    budget: BudgetStatus | None = None,
    refusal: LimitRefusal | None = None,
) -> str:
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
    rows = []
    for name in choices.slices:
        profile = slice_profile(name)
        count = free.get(name)
        if not profile.needs_gpu:
            label, disabled = "always available", ""
        else:
            label = f"{count or 0} free"
            disabled = " disabled" if not count else ""
        checked = " checked" if name == choices.default_slice and not disabled else ""
        rows.append(
            f'<label class="sandbox-slice"><input type="radio" name="slice" value="{escape(name)}"'
            f"{checked}{disabled}> <strong>{escape(name)}</strong> {escape(profile.description)}"
            f' <span class="sandbox-free" data-slice="{escape(name)}">({escape(label)})</span></label><br>'
        )
    return (
        f'<div class="sandbox-form"><p>{escape(site_name)}</p>'
        f"{_team_panel(membership, budget)}"
        f'<label for="sandbox-image">Image</label>'
        f'<select id="sandbox-image" name="image" class="form-control">{images}</select>'
        f"<fieldset><legend>Slice</legend>{''.join(rows)}</fieldset></div>"
    )


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
