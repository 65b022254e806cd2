"""Where a read's time goes: the real query functions, every statement also run under EXPLAIN ANALYZE.

bench/query.py calls this with ``--explain PATH`` after its server has
stopped, on its copy of the store. Each case's request becomes the call the
API handler makes (``list_runs``, ``run_logs``, ``run_stats``,
``agent_metrics``) on a cursor that, for every ``execute(sql, params)``, first
runs ``EXPLAIN ANALYZE`` with the same parameters, and times the statement
itself three ways: binding and running it, fetching its rows, and everything
the function does in Python around them. The profiles go to PATH; a summary
is returned for the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from agentlog.query import (
    HistoryQuery,
    LogsQuery,
    MetricsQuery,
    Scope,
    StatsQuery,
    agent_metrics,
    list_runs,
    run_logs,
    run_stats,
)


@dataclass
class Statement:
    sql: str
    profiled_ms: float
    """DuckDB's "Total Time" under EXPLAIN ANALYZE."""
    execute_ms: float
    """``cursor.execute(sql, params)``: binding the parameters, planning and running."""
    fetch_ms: float = 0.0
    explain_wall_ms: float = 0.0
    plan: str = ""


@dataclass
class Call:
    name: str
    total_ms: float = 0.0
    statements: list[Statement] = field(default_factory=list)


class _Result:
    def __init__(self, result: Any, statement: Statement) -> None:
        self._result, self._statement = result, statement
        self.description = result.description

    def _timed(self, method: str) -> Any:
        started = time.perf_counter()
        value = getattr(self._result, method)()
        self._statement.fetch_ms += 1000 * (time.perf_counter() - started)
        return value

    def fetchall(self) -> Any:
        return self._timed("fetchall")

    def fetchone(self) -> Any:
        return self._timed("fetchone")


class ExplainingCursor:
    """Enough of a DuckDB cursor for the query functions; records a Statement per execute."""

    def __init__(self, cursor: Any, call: Call) -> None:
        self._cursor, self._call = cursor, call

    def execute(self, sql: str, params: Any = None) -> _Result:
        started = time.perf_counter()
        plan = self._cursor.execute("EXPLAIN ANALYZE " + sql, params).fetchall()[0][1]
        explain_wall_ms = 1000 * (time.perf_counter() - started)
        profiled = next((line for line in plan.splitlines() if "Total Time" in line), "")
        seconds = float(profiled.split("Total Time:")[1].strip(" │s")) if profiled else float("nan")
        started = time.perf_counter()
        result = self._cursor.execute(sql, params)
        statement = Statement(" ".join(sql.split())[:160], 1000 * seconds, 1000 * (time.perf_counter() - started))
        statement.plan, statement.explain_wall_ms = plan, explain_wall_ms
        self._call.statements.append(statement)
        return _Result(result, statement)


def _call_for(path: str, params: dict[str, Any], now_ns: int) -> tuple[Any, tuple[Any, ...]]:
    """The query function and arguments the API handler for ``path`` would call."""
    if path.endswith("/history"):
        fields = {k: v for k, v in params.items() if k in ("agent_id", "user_id", "status", "cursor", "limit")}
        return list_runs, (Scope(), HistoryQuery(**fields))
    if path.endswith("/logs"):
        return run_logs, (Scope(), LogsQuery(params["run_id"], limit=params.get("limit", 500)))
    if path.endswith("/stats"):
        return run_stats, (Scope(), StatsQuery(user_id=params.get("user_id"), days=params["days"]), now_ns)
    if path.endswith("/metrics"):
        return agent_metrics, (Scope(), MetricsQuery(agent_id=params.get("agent_id"), days=params["days"]), now_ns)
    raise ValueError(f"no query function for {path}")


def explain(db_path: Path, requests: list[tuple[str, str, dict[str, Any]]], output: Path) -> list[dict[str, Any]]:
    """Profile each (name, path, params) request; full plans to ``output``, a summary returned."""
    calls = []
    now_ns = time.time_ns()
    with duckdb.connect(str(db_path), read_only=True) as connection:
        for name, path, params in requests:
            fn, args = _call_for(path, params, now_ns)
            fn(connection.cursor(), *args)  # warm: the data the query reads is in memory, as on a server
            call = Call(name)
            cursor = connection.cursor()
            started = time.perf_counter()
            fn(ExplainingCursor(cursor, call), *args)
            call.total_ms = 1000 * (time.perf_counter() - started)  # includes the EXPLAIN ANALYZE runs
            calls.append(call)
    with output.open("w") as out:
        for call in calls:
            for statement in call.statements:
                out.write(f"==== {call.name}: {statement.sql}\n{statement.plan}\n\n")
    return [
        {
            "name": call.name,
            "statements": [
                {"sql": s.sql, "profiled_ms": s.profiled_ms, "execute_ms": s.execute_ms, "fetch_ms": s.fetch_ms}
                for s in call.statements
            ],
            "python_ms": call.total_ms - sum(s.explain_wall_ms + s.execute_ms + s.fetch_ms for s in call.statements),
        }
        for call in calls
    ]


def print_summary(summary: list[dict[str, Any]], output: Path) -> None:
    print(f"\nwhere the time goes (the query functions on the store copy, no HTTP; plans in {output}):")
    for call in summary:
        print(f"  {call['name']}: Python around the statements {call['python_ms']:.1f} ms")
        for s in call["statements"]:
            print(
                f"    DuckDB {s['profiled_ms']:7.1f} ms | execute {s['execute_ms']:7.1f} ms | fetch "
                f"{s['fetch_ms']:6.1f} ms | {s['sql'][:90]}"
            )
