"""Live events: what the commits after a cursor changed, as run and node events.

A cursor is a commit sequence number. ``events(after, upto)`` lists, per
commit range: ``run.started`` (a run's first commit), ``node.started`` (a
live-status marker), ``node.finished`` (a stored span), ``run.finished`` (the
root span arrived). A client that reconnects with the last cursor it saw gets
everything committed since; a node that started and finished meanwhile shows
as finished only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from agentlog.proto.ids import trace_id_hex
from agentlog.query.history import run_item
from agentlog.query.logs import node_document
from agentlog.query.rows import fetch_dicts
from agentlog.query.scope import Scope
from agentlog.query.statements import fill, read_sql
from agentlog.store import last_commit_seq
from agentlog.store.rollups import for_tenant
from agentlog.store.transactions import transaction

RUNS_SQL = read_sql("live_runs.sql")
NODES_SQL = fill("live_nodes.sql", {"in_commits": "commit_seq > $after AND commit_seq <= $upto"})
LATE_RUNS_SQL = read_sql("live_late_runs.sql")
LATE_NODES_SQL = fill(
    "live_nodes.sql", {"in_commits": "commit_seq BETWEEN $low AND $high AND list_contains($late, commit_seq)"}
)
COMMITS_SQL = read_sql("live_commits.sql")


@dataclass(frozen=True)
class LiveFilter:
    agent_id: str | None = None
    user_id: str | None = None
    trace_id: int | None = None


def latest_cursor(cursor: Any) -> int:
    """The newest commit: where a client without a cursor starts."""
    return last_commit_seq(cursor)


def events(cursor: Any, scope: Scope, live: LiveFilter, after: int, upto: int) -> list[dict[str, Any]]:
    """Events for commits in (after, upto]: per run, started, its nodes, finished (or updated)."""
    return _events(cursor, scope, live, RUNS_SQL, NODES_SQL, {"after": after, "upto": upto})


def commits(cursor: Any, low: int, high: int) -> set[int]:
    """The commits numbered in (low, high] that stored spans or live-status markers."""
    return {seq for (seq,) in cursor.execute(COMMITS_SQL, {"low": low, "high": high}).fetchall()}


def events_and_commits(
    cursor: Any, scope: Scope, live: LiveFilter, after: int, upto: int
) -> tuple[list[dict[str, Any]], set[int]]:
    """``events`` and the ``commits`` they come from, read in one transaction (one snapshot): a commit
    that lands meanwhile is in neither, and is found late."""
    with transaction(cursor):
        return events(cursor, scope, live, after, upto), commits(cursor, after, upto)


def late_events(cursor: Any, scope: Scope, live: LiveFilter, late: set[int]) -> list[dict[str, Any]]:
    """Events for the commits ``late``, which landed after later-numbered ones were sent (on a lake):
    as ``events`` gives them, run by run."""
    if not late:
        return []
    window = {"late": sorted(late), "low": min(late), "high": max(late)}
    return _events(cursor, scope, live, LATE_RUNS_SQL, LATE_NODES_SQL, window)


def _events(
    cursor: Any, scope: Scope, live: LiveFilter, runs_sql: str, nodes_sql: str, commits: dict[str, Any]
) -> list[dict[str, Any]]:
    params = {"tenant": scope.tenant_id, **commits}
    runs = fetch_dicts(
        cursor,
        for_tenant(cursor, scope.tenant_id, runs_sql),
        {
            **params,
            "user_scope": scope.user_id,
            "agent": live.agent_id,
            "user": live.user_id,
            "trace": None if live.trace_id is None else trace_id_hex(live.trace_id),
        },
    )
    if not runs:
        return []
    # The runs are already scoped and filtered: their nodes need only the trace list.
    nodes = cursor.execute(nodes_sql, {**params, "traces": [run["run_id"] for run in runs]}).fetchall()
    by_run: dict[str, list[dict[str, Any]]] = {}
    for run_id, running, start, end, events_json, document in nodes:
        node = orjson.loads(node_document((running, start, end, events_json, document), depth=None))
        by_run.setdefault(run_id, []).append(node)
    out: list[dict[str, Any]] = []
    for run in runs:
        out.extend(_run_events(run, by_run.get(run["run_id"], [])))
    return out


def _run_events(run: dict[str, Any], nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    item = run_item(run)
    run_id = run["run_id"]
    listed: list[dict[str, Any]] = []
    if run["started_in_range"]:
        listed.append({"type": "run.started", "run_id": run_id, "run": item})
    for node in nodes:  # the root is the run, not a node: the query leaves it out
        kind = "node.started" if node["status"] == "running" else "node.finished"
        listed.append({"type": kind, "run_id": run_id, "node": node})
    if run["finished_in_range"]:
        listed.append({"type": "run.finished", "run_id": run_id, "run": item})
    elif not run["started_in_range"]:
        listed.append({"type": "run.updated", "run_id": run_id, "run": item})
    return listed
