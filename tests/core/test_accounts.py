"""Hub user names to unix accounts: always prefixed, never a system account, never two
hub users on one account."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spawners.core.accounts import AccountNameError, account_name, check_prefix

UNIX_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


@pytest.mark.parametrize(
    ("hub_user", "account"),
    [
        ("alice", "jupyter-alice"),
        ("postgres", "jupyter-postgres"),
        ("root", "jupyter-root"),
        ("kim-cs_2", "jupyter-kim-cs_2"),
    ],
)
def test_plain_names_get_the_prefix(hub_user: str, account: str) -> None:
    assert account_name(hub_user) == account


@pytest.mark.parametrize("hub_user", ["김철수", "bob.x", "Bob", "a" * 40, "x--y", "a-", "kim@x.kr"])
def test_other_names_are_hashed_and_still_valid(hub_user: str) -> None:
    name = account_name(hub_user)
    assert UNIX_NAME.match(name), name
    assert name.startswith("jupyter-") and "--" in name


@given(st.text(min_size=1, max_size=60), st.text(min_size=1, max_size=60))
def test_two_hub_users_never_share_an_account(a: str, b: str) -> None:
    if a != b:
        assert account_name(a) != account_name(b)


@given(st.text(min_size=1, max_size=60))
def test_every_account_is_a_valid_prefixed_unix_name(hub_user: str) -> None:
    name = account_name(hub_user)
    assert UNIX_NAME.match(name) and name.startswith("jupyter-")


def test_a_chosen_name_cannot_take_a_hashed_one() -> None:
    # "bob.x" hashes; nobody can pick the plain name that it became.
    taken = account_name("bob.x").removeprefix("jupyter-")
    assert account_name(taken) != account_name("bob.x")


@pytest.mark.parametrize("prefix", ["", "Jupyter-", "1x", "a" * 17, "x:y"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(AccountNameError):
        check_prefix(prefix)
