"""Teams from the site file: membership and roles, the choices a policy leaves, and every
mistake an operator can make, caught at load time with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub_config.site import SiteError, deep_merge, load_site
from spawners.core.policy import (
    PolicyError,
    Role,
    TeamKind,
    format_duration,
    parse_duration,
)
from spawners.core.profiles import SLICE_NAMES
from tests.core.facts import H100_SLICE_NAMES

from .conftest import DEFAULT_TEAMS, SITE_IMAGES, default_policy, teams_from_yaml

TEAMS = """
default_policy: {max_slices_per_member: 1, idle_timeout: 1h, max_session: 12h, warn_before: 10m}
startup-alpha:
  kind: startup
  groups: [startup-alpha, alpha-contractors]
  policy: {images: [base, vision], slices: [cpu, 1g.10gb, 2g.20gb], max_slices_per_team: 3}
course-ml101:
  kind: course
  groups: [course-ml101]
  policy: {max_slice: 2g.20gb, gpu_hours: {per_member: 10, period: week}}
  instructors:
    groups: [ml101-instructors]
    policy: {max_slice: 7g.80gb, max_slices_per_member: 2, gpu_hours: {per_member: null}}
staff:
  kind: staff
  groups: [staff]
  policy: {idle_timeout: null, max_session: null}
"""


@pytest.fixture
def teams():
    return teams_from_yaml(TEAMS)


def test_membership_by_group_first_team_wins(teams) -> None:
    alpha = teams.membership({"alpha-contractors", "staff"})
    assert alpha is not None and alpha.team.name == "startup-alpha"
    assert alpha.role is Role.MEMBER and alpha.team.kind is TeamKind.STARTUP
    assert teams.membership({"staff"}).team.name == "staff"
    assert teams.membership({"marketing"}) is None
    assert teams.membership(set()) is None


def test_instructors_are_a_role_inside_the_course(teams) -> None:
    m = teams.membership({"ml101-instructors"})
    assert m.team.name == "course-ml101" and m.role is Role.INSTRUCTOR
    assert m.policy.max_slice == "7g.80gb" and m.policy.max_slices_per_member == 2
    assert m.policy.gpu_hours_per_member is None
    # Everything the override does not name comes from the course's policy.
    assert m.policy.period.value == "week" and m.policy.idle_timeout == 3600
    student = teams.membership({"course-ml101"})
    assert student.policy.gpu_hours_per_member == 10 and student.policy.max_slice == "2g.20gb"
    # The role follows the user's groups inside the team an allocation is charged to.
    assert teams.membership_in("course-ml101", {"ml101-instructors"}).role is Role.INSTRUCTOR
    assert teams.membership_in("course-ml101", set()).role is Role.MEMBER
    assert teams.membership_in("gone-team", {"course-ml101"}) is None


def test_login_groups_are_every_team_and_instructor_group(teams) -> None:
    assert teams.login_groups() == {
        "startup-alpha",
        "alpha-contractors",
        "course-ml101",
        "ml101-instructors",
        "staff",
    }


def test_staff_without_limits(teams) -> None:
    policy = teams.get("staff").policy
    assert policy.idle_timeout is None and policy.max_session is None
    assert all(policy.allows_slice(s) for s in SLICE_NAMES)


@pytest.mark.parametrize(
    ("cap", "allowed"),
    [
        ("2g.20gb", {"cpu", "1g.10gb", "1g.20gb", "2g.20gb", "mps.10gb", "mps.20gb"}),
        ("1g.10gb", {"cpu", "1g.10gb", "mps.10gb"}),
        (
            "3g.40gb",
            {"cpu", "1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb"}
            | {"mps.10gb"}
            | {"mps.20gb", "mps.40gb"},
        ),
        ("cpu", {"cpu"}),
    ],
)
def test_max_slice_admits_no_larger_slices(cap: str, allowed: set[str]) -> None:
    policy = default_policy(max_slice=cap)
    assert {s for s in H100_SLICE_NAMES if policy.allows_slice(s)} == allowed


@pytest.mark.parametrize(
    ("cap", "admits", "refuses"),
    [
        # A cap is a share of one GPU, whatever its model: on a site with H100 and H200
        # nodes a 2g.20gb cap admits the H200's 2g.35gb and 1g.35gb, not its 3g.71gb.
        ("2g.20gb", {"2g.35gb", "1g.35gb", "1g.18gb", "2g.24gb", "2g.10gb"}, {"3g.71gb"}),
        ("1g.10gb", {"1g.18gb", "1g.12gb", "1g.5gb"}, {"1g.35gb", "2g.35gb"}),
        # ...and a cap may name any model's profile.
        ("3g.71gb", {"3g.40gb", "2g.35gb", "mps.40gb", "3g.20gb"}, {"4g.71gb", "4g.40gb"}),
        ("1g.18gb", {"1g.10gb", "mps.10gb"}, {"1g.20gb", "mps.20gb"}),
    ],
)
def test_max_slice_follows_the_gpu_model(cap: str, admits: set[str], refuses: set[str]) -> None:
    policy = default_policy(max_slice=cap)
    assert all(policy.allows_slice(s) for s in admits | {cap})
    assert not any(policy.allows_slice(s) for s in refuses)


def test_choices_are_what_the_site_offers_and_the_team_allows(teams) -> None:
    offered = ("cpu", "1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")
    alpha = teams.membership({"startup-alpha"}).policy
    choices = alpha.choices(offered, SITE_IMAGES, "base", "cpu")
    assert choices.images == ("base", "vision")
    assert choices.slices == ("cpu", "1g.10gb", "2g.20gb")
    assert (choices.default_image, choices.default_slice) == ("base", "cpu")
    # A site default the team does not allow falls back to the first allowed.
    choices = alpha.choices(offered, SITE_IMAGES, "legal", "3g.40gb")
    assert (choices.default_image, choices.default_slice) == ("base", "cpu")


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [(90, 90), ("90", 90), ("90s", 90), ("15m", 900), ("8h", 28800), ("2d", 172800)],
)
def test_durations(raw, seconds) -> None:
    assert parse_duration(raw) == seconds


@pytest.mark.parametrize("raw", ["1.5h", "h", "-5m", "10 minutes", True, "1w"])
def test_bad_durations(raw) -> None:
    with pytest.raises(PolicyError):
        parse_duration(raw)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (25, 600, 3600, 90000, 86400)] == [
        "25s",
        "10m",
        "1h",
        "25h",
        "1d",
    ]


# --- the site file: schema + semantic checks, through the real loader --------------------

BASE = """
site: {name: t}
gpus: {source: simulated}
"""


def load(tmp_path: Path, text: str):
    path = tmp_path / "site.yaml"
    path.write_text(BASE + text)
    return load_site(path, env={})


def refused(tmp_path: Path, text: str) -> str:
    with pytest.raises(SiteError) as info:
        load(tmp_path, text)
    return str(info.value)


def test_the_example_teams_load(tmp_path: Path) -> None:
    site = load(tmp_path, "teams:\n" + "\n".join("  " + line for line in TEAMS.splitlines()))
    assert sorted(k for k in site["teams"] if k != "default_policy") == [
        "course-ml101",
        "staff",
        "startup-alpha",
    ]
    assert site["teams"]["default_policy"]["warn_before"] == "10m"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "teams: {a: {kind: startup, groups: [g], polcy: {}}}",
            "at teams.a: unknown key 'polcy' (did you mean 'policy'?)",
        ),
        ("teams: {a: {kind: company, groups: [g]}}", "at teams.a.kind"),
        ("teams: {a: {kind: startup, groups: []}}", "at teams.a.groups"),
        ("teams: {a: {kind: startup}}", "'groups' is a required property"),
        ("teams: {Team_A: {kind: startup, groups: [g]}}", "unknown key 'Team_A'"),
        (
            "teams: {a: {kind: startup, groups: [g], policy: {idle_timeout: 1week}}}",
            "at teams.a.policy.idle_timeout",
        ),
        (
            "teams: {a: {kind: startup, groups: [g], policy: {slices: [8g.90gb]}}}",
            "at teams.a.policy.slices[0]",
        ),
        (
            "teams: {a: {kind: startup, groups: [g], policy: {gpu_hours: {per_team: -1}}}}",
            "at teams.a.policy.gpu_hours.per_team",
        ),
        (
            "teams: {a: {kind: startup, groups: [g], policy: {gpu_hours: {period: year}}}}",
            "at teams.a.policy.gpu_hours.period",
        ),
    ],
)
def test_schema_errors_name_the_path(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in refused(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "teams: {a: {kind: startup, groups: [g]}, b: {kind: course, groups: [g]}}",
            "teams.b: group 'g' already maps to team 'a' (a group belongs to one team)",
        ),
        (
            "teams: {a: {kind: startup, groups: [g], instructors: {groups: [i]}}}",
            "teams.a.instructors: only a course has instructors",
        ),
        (
            "teams: {a: {kind: course, groups: [g], instructors: {groups: [i], "
            "policy: {max_slices_per_team: 9}}}}",
            "teams.a.instructors.policy: max_slices_per_team is set for the whole team",
        ),
        (
            "teams: {a: {kind: course, groups: [g], instructors: {groups: [i], "
            "policy: {gpu_hours: {per_team: 9}}}}}",
            "gpu_hours.per_team is set for the whole team",
        ),
        (
            "teams: {a: {kind: startup, groups: [g], policy: "
            "{max_slices_per_member: 4, max_slices_per_team: 2}}}",
            "max_slices_per_member (4) is more than max_slices_per_team (2)",
        ),
        (
            "teams: {a: {kind: startup, groups: [g], policy: {max_session: 5m, warn_before: 10m}}}",
            "warn_before (10m) must be shorter than max_session (5m)",
        ),
        (
            "teams: {a: {kind: startup, groups: [g], policy: {slices: [3g.40gb], max_slice: 1g.10gb}}}",
            "slices and max_slice leave no slice at all",
        ),
        (
            "hub: {authenticator: {kind: oidc, client_id: x, oidc: {issuer: 'https://idp'}}}",
            "hub.authenticator.kind oidc lets in the members of the teams' groups only",
        ),
    ],
)
def test_semantic_errors_say_what_is_wrong(tmp_path: Path, text: str, expected: str) -> None:
    message = refused(tmp_path, text)
    assert expected in message
    assert "Traceback" not in message


def test_images_the_site_does_not_offer() -> None:
    from spawners.core.policy import teams_from_site

    team = {"a": {"kind": "startup", "groups": ["g"], "policy": {"images": ["vision"]}}}
    with pytest.raises(PolicyError, match="teams.a.policy.images: vision not among"):
        teams_from_site(deep_merge(DEFAULT_TEAMS, team), site_images=("base",))


def test_oidc_needs_a_client_and_an_issuer(tmp_path: Path) -> None:
    message = refused(tmp_path, "hub: {authenticator: {kind: oidc}}")
    assert "'client_id' is a required property" in message
    message = refused(tmp_path, "hub: {authenticator: {kind: oidc, client_id: x}}")
    assert "issuer" in message
