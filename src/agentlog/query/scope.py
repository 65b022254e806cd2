"""Whose data a read may see: one tenant, and optionally only one user's runs."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TENANT = "default"


@dataclass(frozen=True)
class Scope:
    """Every read query filters by ``tenant_id``, and by ``user_id`` when it is set."""

    tenant_id: str = DEFAULT_TENANT
    user_id: str | None = None


LOCAL = Scope()
"""The single local tenant used when no API keys are configured."""
