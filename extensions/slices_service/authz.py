"""Who may call what on the slices service: JupyterHub RBAC on the calling token's own
scopes, checked with jupyterhub's scope helpers, as the hub's REST API does.

Never the user's ``admin`` flag: the hub's /api/user reports it for every token of an
admin, even one that may only open this service (an admin's server token, say)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from jupyterhub.scopes import has_scope, parse_scopes
from jupyterhub.services.auth import check_scopes
from tornado import web

from spawners.core.refusals import LOGIN_FIRST, RefusalCode, TemplatedRefusal
from spawners.i18n import N_
from spawners.refusal_status import refused

READ_ALL = "read:users"
"""Allocations, the capacity page and overview, usage, teams, audit: who holds which
slice and for how long is what read:users gives on every user (names, servers, activity)."""

READ_METRICS = "read:metrics"

STOP_SCOPES = ("admin:servers", "delete:servers")
"""Stopping a server, honouring the same filters (user, server, group) as the hub does."""

Caller = Mapping[str, Any] | None
Method = TypeVar("Method", bound=Callable[..., Any])


def token_scopes(caller: Caller) -> frozenset[str]:
    """The calling token's expanded scopes, as the hub reported them for this token."""
    return frozenset((caller or {}).get("scopes") or ())


def holds(caller: Caller, scope: str) -> bool:
    """Whether the calling token holds ``scope`` on every resource (no filter)."""
    return bool(check_scopes({scope}, token_scopes(caller)))


def stop_groups(caller: Caller) -> frozenset[str]:
    """Groups the caller's stop scopes are filtered on (``delete:servers!group=x``): only
    then must the service look up the target user's groups (jupyterhub needs its
    database for that; the service asks the hub instead)."""
    parsed = parse_scopes(token_scopes(caller))
    groups: set[str] = set()
    for scope in STOP_SCOPES:
        filters = parsed.get(scope)
        if isinstance(filters, Mapping):
            groups.update(filters.get("group", ()))
    return frozenset(groups)


def may_stop(
    caller: Caller, owner: str, server_name: str = "", owner_groups: Collection[str] = ()
) -> bool:
    """Whether the caller may stop ``owner``'s server ``server_name`` ('' is the default
    server), i.e. holds admin:servers or delete:servers on it."""
    parsed = parse_scopes(token_scopes(caller))
    target = f"server={owner}/{server_name}"
    if any(has_scope(f"{scope}!{target}", parsed) for scope in STOP_SCOPES):
        return True
    return bool(stop_groups(caller) & set(owner_groups))


def missing_scope(refusal: str, scope: str) -> TemplatedRefusal:
    """403 for a token without ``scope``: ``refusal`` says what it may not do."""
    return TemplatedRefusal(
        RefusalCode.MISSING_SCOPE,
        N_("%(refusal)s (needs the %(scope)s scope)."),
        {"refusal": refusal, "scope": scope},
    )


def require(scope: str, refusal: str) -> Callable[[Method], Method]:
    """Handler method decorator: 403 with ``refusal`` unless the calling token holds
    ``scope`` unfiltered. Put ``@web.authenticated`` above it where anonymous browsers
    should be sent to log in instead."""

    def decorate(method: Method) -> Method:
        @functools.wraps(method)
        def checked(self: web.RequestHandler, *args: Any, **kwargs: Any) -> Any:
            if not self.current_user:
                raise refused(LOGIN_FIRST)
            if not holds(self.current_user, scope):
                raise refused(missing_scope(refusal, scope))
            return method(self, *args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate
