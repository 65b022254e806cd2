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
from agentlog.query.statements import read_sql
from agentlog.store import last_commit_seq
from agentlog.store.rollups import for_tenant

RUNS_SQL = read_sql("live_runs.sql")
NODES_SQL = read_sql("live_nodes.sql")


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
    params = {"tenant": scope.tenant_id, "after": after, "upto": upto}
    runs = fetch_dicts(
        cursor,
        for_tenant(cursor, scope.tenant_id, RUNS_SQL),
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
    nodes = cursor.execute(NODES_SQL, {**params, "traces": [run["run_id"] for run in runs]}).fetchall()
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
