"""Whose data a read may see: one tenant, and optionally only one user's runs."""

from __future__ import annotations

from dataclasses import dataclass

from agentlog.store import DEFAULT_TENANT
from agentlog.store.keys import Principal


@dataclass(frozen=True)
class Scope:
    """Every read query filters by ``tenant_id``, and by ``user_id`` when it is set."""

    tenant_id: str = DEFAULT_TENANT
    user_id: str | None = None


def narrowed(scope: Scope, user_id: str | None) -> Scope | None:
    """``scope`` narrowed to ``user_id``'s runs (unchanged when None); None when the caller may not read
    that user's runs (a key bound to another user)."""
    if user_id is None:
        return scope
    if scope.user_id is not None and scope.user_id != user_id:
        return None
    return Scope(scope.tenant_id, user_id)


LOCAL = Scope()
"""The single local tenant used when no API keys are configured."""


def scope_for(principal: Principal | None) -> Scope:
    """What a caller may read: its tenant, and only its user's runs for a user-bound key."""
    if principal is None:
        return LOCAL
    return Scope(principal.tenant_id, principal.user_id)
