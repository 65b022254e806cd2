"""Run statistics per user over the last ``days``: runs, success rate, durations, tokens, cost, per day."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentlog.query.history import cents, usd
from agentlog.query.rows import fetch_dicts
from agentlog.query.scope import Scope
from agentlog.query.statements import read_sql
from agentlog.query.timefmt import days_ago, iso_utc
from agentlog.store.rollups import for_tenant

STATS_SQL = read_sql("stats.sql")
DEFAULT_DAYS = 30
MAX_DAYS = 3650


@dataclass(frozen=True)
class StatsQuery:
    user_id: str | None = None
    agent_id: str | None = None
    days: int = DEFAULT_DAYS


def run_stats(cursor: Any, scope: Scope, query: StatsQuery, now_ns: int) -> dict[str, Any]:
    """Totals and a per-day series; a window with no runs gives zeros, not an error."""
    since = days_ago(query.days, now_ns)
    rows = fetch_dicts(
        cursor,
        for_tenant(cursor, scope.tenant_id, STATS_SQL),
        {"tenant": scope.tenant_id, "user_scope": scope.user_id, "user": query.user_id,
         "agent": query.agent_id, "since": since},
    )  # fmt: skip
    total = rows[0] if rows and rows[0]["is_total"] else None
    per_day = [row for row in rows if not row["is_total"]]
    return {
        "user_id": query.user_id,
        "agent_id": query.agent_id,
        "days": query.days,
        "since": iso_utc(since),
        **_figures(total),
        "per_day": [{"date": row["day"].isoformat(), **_figures(row)} for row in per_day],
    }


def _figures(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None or not row["runs"]:
        return {"runs": 0, "successful_runs": 0, "failed_runs": 0, "running_runs": 0, "success_rate": None,
                "avg_duration_ms": None, "p95_duration_ms": None,
                "tokens": {"input": 0, "output": 0, "cache_read": 0, "cache_write": 0, "total": 0},
                "cost_usd": 0.0, "cost_cents": 0.0}  # fmt: skip
    finished = row["successful_runs"] + row["failed_runs"]
    return {
        "runs": row["runs"],
        "successful_runs": row["successful_runs"],
        "failed_runs": row["failed_runs"],
        "running_runs": row["running_runs"],
        "success_rate": row["successful_runs"] / finished if finished else None,
        "avg_duration_ms": row["avg_duration_ms"],
        "p95_duration_ms": row["p95_duration_ms"],
        "tokens": {
            "input": int(row["input_tokens"]),
            "output": int(row["output_tokens"]),
            "cache_read": int(row["cache_read_tokens"]),
            "cache_write": int(row["cache_write_tokens"]),
            "total": int(row["total_tokens"]),
        },
        "cost_usd": usd(row["cost_usd"]),
        "cost_cents": cents(row["cost_usd"]),
    }
