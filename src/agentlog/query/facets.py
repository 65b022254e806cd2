"""Facets: the agents, users and models a history's filters offer, from a recent window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentlog.query.filtered import execute_filtered
from agentlog.query.scope import Scope
from agentlog.query.statements import read_sql
from agentlog.query.timefmt import days_ago
from agentlog.store.rollups import reads_for

DEFAULT_DAYS = 30
TOP = 200
"""Values listed per facet: the most frequent."""
FACET_RUNS_SQL = read_sql("facet_runs.sql")


@dataclass(frozen=True)
class FacetsQuery:
    days: int = DEFAULT_DAYS


def list_facets(cursor: Any, scope: Scope, query: FacetsQuery, now_ns: int) -> dict[str, Any]:
    """The TOP agents and users by runs started in the last ``query.days`` days, and the TOP
    models by calls started then, as the caller may see them.

    Two scans of the window: the runs' narrow columns, and the spans' model
    column (~45 + ~125 ms for 30 days of 1,000,000 runs over 60 days, two cores)."""
    since = days_ago(query.days, now_ns)
    params = {"tenant": scope.tenant_id, "user_scope": scope.user_id, "since": since, "top": TOP}
    reads = reads_for(cursor, scope.tenant_id)
    grouped = cursor.execute(reads(FACET_RUNS_SQL), params).fetchall()
    models = execute_filtered(cursor, "facet_models.sql", "facet_models_filter.sql", params, reads).fetchall()
    return {
        "agents": [{"agent_id": agent, "runs": runs} for is_agent, agent, _, runs in grouped if is_agent],
        "users": [{"user_id": user, "runs": runs} for is_agent, _, user, runs in grouped if not is_agent],
        "models": [{"model": model, "calls": calls} for model, calls in models],
        "days": query.days,
    }
