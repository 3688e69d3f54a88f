"""Always-valid names for engine objects (jobs, containers, volumes, pods, labels).

Like kubespawner's safe slugs: a name that is already valid is kept as it is; anything
else is lower-cased, stripped to the allowed characters and given a short hash of the
original, so two different users can never end up with the same name: kept names never
contain ``--``, joined names use ``--`` once per join, hashed ones end in ``---<hash>``.
Pure."""

from __future__ import annotations

import hashlib
import re

_VALID = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_INVALID_RUN = re.compile(r"[^a-z0-9]+")


def _hash(value: str, length: int = 8) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def safe_slug(value: str, max_length: int = 40) -> str:
    """A DNS-label-like slug: ``[a-z0-9-]``, no leading/trailing dash, at most
    ``max_length`` characters; a hash of ``value`` is appended whenever it was changed."""
    if max_length < 12:
        raise ValueError("max_length must leave room for the hash")
    if _VALID.fullmatch(value) and "--" not in value and len(value) <= max_length:
        return value
    stripped = _INVALID_RUN.sub("-", value.lower()).strip("-")
    stripped = stripped[: max_length - 11].rstrip("-") or "x"
    # "---" never occurs in a kept name, so a hashed slug cannot equal one.
    return f"{stripped}---{_hash(value)}"


def server_slug(user: str, server_name: str, max_length: int = 40) -> str:
    """One slug per (user, server): ``alice`` or ``alice--gpu`` when both are valid.

    ``--`` only ever separates user and server name: a name that contains it itself is
    hashed, so user ``a--b`` and user ``a``'s server ``b`` never share a slug."""
    joined = f"{user}--{server_name}" if server_name else user
    parts_valid = all(_VALID.fullmatch(p) and "--" not in p for p in (user, server_name) if p)
    if joined and parts_valid and len(joined) <= max_length:
        return joined
    return safe_slug(f"{user}\0{server_name}", max_length)
