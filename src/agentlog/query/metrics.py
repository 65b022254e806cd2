"""Agent performance over the last ``days``: durations, error rates, tokens, cost; by node type, model, tool."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from agentlog.query.history import usd
from agentlog.query.metric_days import MetricDays, compute_partials, registered
from agentlog.query.rows import fetch_dicts
from agentlog.query.scope import Scope
from agentlog.query.statements import read_sql
from agentlog.query.timefmt import MAX_UNIX_NANO, days_ago, iso_utc

RUNS_SQL = read_sql("metrics_runs.sql")
NODES_SQL = read_sql("metrics_nodes.sql")
QUANTILES_SQL = read_sql("metrics_quantiles.sql")
WARM_TENANTS_SQL = read_sql("metrics_warm_tenants.sql")
DEFAULT_DAYS = 30
WARM_TENANTS = 8
"""Tenants whose metrics a warm-up computes: the busiest; the others pay on their first request."""


@dataclass(frozen=True)
class MetricsQuery:
    agent_id: str | None = None
    days: int = DEFAULT_DAYS


def agent_metrics(
    cursor: Any, scope: Scope, query: MetricsQuery, now_ns: int, days: MetricDays | None = None
) -> dict[str, Any]:
    """One entry per agent with runs in the window (only ``agent_id``'s when given).

    With ``days``, whole days come from (and go to) its partials; without, the
    window is read in one pass."""
    since = days_ago(query.days, now_ns)
    cursor.execute("BEGIN TRANSACTION")
    try:
        if days is None:
            partials = compute_partials(cursor, scope, since, MAX_UNIX_NANO)
        else:
            partials = days.window(cursor, scope, since)
    finally:
        cursor.execute("COMMIT")
    params = {"agent": query.agent_id}
    facets: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    with registered(cursor, partials):
        quantiles = {
            (facet, agent, name): values
            for facet, agent, name, values in cursor.execute(QUANTILES_SQL, params).fetchall()
        }
        for row in fetch_dicts(cursor, NODES_SQL, params):
            p95 = quantiles.get((row["facet"], row["agent"], row["name"]))
            facets[row["agent"]][row["facet"]].append(_facet(row, p95[1] if p95 else None))
        agents = [
            _agent(row, quantiles.get(("run", row["agent"], None)), facets[row["agent"]])
            for row in fetch_dicts(cursor, RUNS_SQL, params)
        ]
    return {"agent_id": query.agent_id, "days": query.days, "since": iso_utc(since), "agents": agents}


def warm_up(cursor: Any, now_ns: int, days: MetricDays, max_tenants: int = WARM_TENANTS) -> list[str]:
    """Fill ``days`` for the default window of the busiest tenants; the tenants warmed.

    A cold cache makes a metrics request compute every day of its window:
    about three seconds on a million runs. Run at start-up, this spares the
    first person who opens the dashboard that wait."""
    since = days_ago(DEFAULT_DAYS, now_ns)
    tenants = [row[0] for row in cursor.execute(WARM_TENANTS_SQL, {"since": since, "limit": max_tenants}).fetchall()]
    for tenant in tenants:
        agent_metrics(cursor, Scope(tenant), MetricsQuery(), now_ns, days)
    return tenants


def _agent(
    row: dict[str, Any], quantiles: list[float] | None, facets: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    finished = row["failed_runs"] + row["successful_runs"]
    p50, p95, p99 = quantiles or (None, None, None)
    return {
        "agent_id": row["agent"],
        "runs": row["runs"],
        "successful_runs": row["successful_runs"],
        "failed_runs": row["failed_runs"],
        "error_rate": row["failed_runs"] / finished if finished else None,
        "duration_ms": {"avg": row["avg_duration_ms"], "p50": p50, "p95": p95, "p99": p99},
        "tokens_per_run": float(row["tokens_per_run"]) if row["tokens_per_run"] is not None else None,
        "cost_per_run_usd": usd(row["cost_per_run_usd"]),
        "total_tokens": int(row["total_tokens"]),
        "cost_usd": usd(row["cost_usd"]),
        "by_node_type": facets.get("type", []),
        "by_model": facets.get("model", []),
        "tools": facets.get("tool", []),
    }


def _facet(row: dict[str, Any], p95: float | None) -> dict[str, Any]:
    return {
        "name": row["name"],
        "calls": row["calls"],
        "errors": row["errors"],
        "error_rate": row["errors"] / row["calls"] if row["calls"] else None,
        "avg_duration_ms": row["avg_duration_ms"],
        "p95_duration_ms": p95,
        "input_tokens": int(row["input_tokens"]),
        "output_tokens": int(row["output_tokens"]),
        "cache_read_tokens": int(row["cache_read_tokens"]),
        "cache_write_tokens": int(row["cache_write_tokens"]),
        "cost_usd": usd(row["cost_usd"]),
    }
