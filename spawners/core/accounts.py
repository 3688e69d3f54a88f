"""Which unix account a hub user's server runs as. Pure: a name in, a name out.

Every hub user gets an account of their own with a fixed prefix (``jupyter-alice``), so a
login name can never reach an existing system account (``postgres``, ``root``): the
prefix is added to every name, whatever the authenticator or the identity provider says.
Names that are not already a safe unix name (capitals, Hangul, dots, too long) become a
readable safe part plus a short hash of the full name, so two hub users never share one."""

from __future__ import annotations

import hashlib
import re

DEFAULT_PREFIX = "jupyter-"
MAX_UNIX_NAME = 32
"""useradd's limit on Debian (and most Linux distributions)."""

# A safe name never holds "--": that separator marks a hashed name, so the two kinds can
# never produce the same account.
_SAFE = re.compile(r"^[a-z0-9](?:[a-z0-9_]|-(?!-))*$")
_UNSAFE_RUN = re.compile(r"[^a-z0-9_]+")
_PREFIX = re.compile(r"^[a-z_][a-z0-9_-]{0,15}$")
HASH_LENGTH = 16
"""64 bits of sha256: finding a second hub name for someone's account is out of reach."""


class AccountNameError(ValueError):
    """The prefix itself cannot start a unix account name."""


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise AccountNameError(
            f"account prefix {prefix!r} must start with a lowercase letter or _, use only "
            "a-z, 0-9, _ and -, and be at most 16 characters"
        )
    return prefix


def account_name(hub_user: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The unix account of ``hub_user``: ``<prefix><name>``, hashed when needed."""
    check_prefix(prefix)
    room = MAX_UNIX_NAME - len(prefix)
    if _SAFE.match(hub_user) and not hub_user.endswith("-") and len(hub_user) <= room:
        return prefix + hub_user
    digest = hashlib.sha256(hub_user.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    readable = _UNSAFE_RUN.sub("-", hub_user.lower()).strip("-_")
    readable = readable[: max(0, room - HASH_LENGTH - 2)].rstrip("-_")
    return f"{prefix}{readable or 'u'}--{digest}"
