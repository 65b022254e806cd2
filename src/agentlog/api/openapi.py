"""The OpenAPI description of the API, served at ``/openapi.json``.

It is also the API's one declaration of each route's query parameters: a
request naming a parameter its operation does not declare is refused with a
400 that names it (``query_parameters``), and a test checks that every route
of the app is described here.
"""

from __future__ import annotations

import functools
from typing import Any

from agentlog import __version__
from agentlog.api import operations
from agentlog.query import export, facets, history, logs, node_logs, run_order, sessions, sql_console, stats
from agentlog.store import upkeep

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_TOKENS = {
    "type": "object",
    "description": "input includes cache_read (read from the provider's prompt cache) and cache_write (written to it)",
    "properties": {
        k: {"type": ["integer", "null"]} for k in ("input", "output", "cache_read", "cache_write", "reasoning", "total")
    },
}
_STATS_TOKENS = {
    "type": "object",
    "description": "sums over the runs; input includes cache_read and cache_write",
    "properties": {k: {"type": "integer"} for k in ("input", "output", "cache_read", "cache_write", "total")},
}
_STATS = {
    "type": "object",
    "required": ["runs", "success_rate", "per_day"],
    "properties": {
        "tokens": _STATS_TOKENS,
        "per_day": {"type": "array", "items": {"type": "object", "properties": {"tokens": _STATS_TOKENS}}},
    },
}
_FACETS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            k: {"type": "integer"}
            for k in ("calls", "errors", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
        },
    },
}
_METRICS = {
    "type": "object",
    "required": ["agents"],
    "properties": {
        "agents": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"by_node_type": _FACETS, "by_model": _FACETS, "tools": _FACETS},
            },
        },
    },
}
_ERROR_BODY = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_RUN: dict[str, Any] = {
    "type": "object",
    "required": [
        "run_id",
        "status",
        "started_at",
        "duration",
        "input",
        "output",
        "node_count",
        "tokens_used",
        "cost_cents",
    ],
    "properties": {
        "run_id": {
            "type": "string",
            "pattern": "^[0-9a-f]{32}$",
            "description": "The trace id: 32 lowercase hex digits.",
        },
        "status": {"type": "string", "enum": list(history.STATUSES)},
        "started_at": {"type": "string", "format": "date-time"},
        "duration": {**_NULLABLE_STRING, "description": 'e.g. "45s", "45.2s", "120ms"; null while running'},
        "input": {**_NULLABLE_STRING, "description": f"shortened to {history.PREVIEW_CHARS} characters"},
        "output": _NULLABLE_STRING,
        "node_count": {"type": "integer"},
        "tokens_used": {"type": "integer"},
        "cost_cents": _NULLABLE_NUMBER,
        "agent_id": _NULLABLE_STRING,
        "user_id": _NULLABLE_STRING,
        "session_id": _NULLABLE_STRING,
        "ended_at": {"type": ["string", "null"], "format": "date-time"},
        "duration_ms": _NULLABLE_NUMBER,
        "cost_usd": _NULLABLE_NUMBER,
        "cost_source": {
            "type": ["string", "null"],
            "enum": ["reported", "computed", "mixed", "partial", "unknown", None],
        },
        "tokens": _TOKENS,
        "models": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the distinct models of its model calls (not agent or chain spans), sorted",
        },
        "successful_nodes": {"type": "integer"},
        "failed_nodes": {"type": "integer"},
        "error": {
            "type": ["object", "null"],
            "properties": {"node": _NULLABLE_STRING, "type": _NULLABLE_STRING, "message": _NULLABLE_STRING},
        },
    },
}
_WHOLE_RUN = {
    **_RUN,
    "properties": {
        **_RUN["properties"],
        "input": {**_NULLABLE_STRING, "description": "whole"},
        "output": {**_NULLABLE_STRING, "description": "whole"},
    },
}
_SESSION_TOKENS = {
    "type": "object",
    "description": "sums over the session's runs; input includes cache_read and cache_write",
    "required": ["input", "output", "cache_read", "cache_write", "total"],
    "properties": {
        k: {"type": "integer"} for k in ("input", "output", "cache_read", "cache_write", "reasoning", "total")
    },
}
_SESSION_FIELDS: dict[str, Any] = {
    "session_id": {"type": "string"},
    "user_id": {**_NULLABLE_STRING, "description": "the user of all its runs; null if they differ or have none"},
    "agent_ids": {"type": "array", "items": {"type": "string"}, "description": "its runs' agents, sorted"},
    "runs": {"type": "integer"},
    "failed_runs": {"type": "integer"},
    "running_runs": {"type": "integer"},
    "first_started_at": {"type": "string", "format": "date-time"},
    "last_started_at": {"type": "string", "format": "date-time"},
    "last_ended_at": {
        "type": ["string", "null"],
        "format": "date-time",
        "description": "the latest end of its ended runs; null while none has ended",
    },
    "duration_ms": {**_NULLABLE_NUMBER, "description": "the sum of its ended runs' durations"},
    "tokens": _SESSION_TOKENS,
    "cost_usd": {**_NULLABLE_NUMBER, "description": "the sum of its runs' known costs; null when none is known"},
    "cost_cents": _NULLABLE_NUMBER,
}
_SESSION_REQUIRED = [name for name in _SESSION_FIELDS if name != "last_started_at"]
_SESSION = {"type": "object", "required": [*_SESSION_REQUIRED, "last_started_at"], "properties": _SESSION_FIELDS}
_SESSIONS = {
    "type": "object",
    "required": ["sessions", "next_cursor"],
    "properties": {
        "sessions": {"type": "array", "items": _SESSION},
        "next_cursor": {**_NULLABLE_STRING, "description": "the next page's cursor; null on the last page"},
    },
}
_SESSION_DETAIL = {
    "type": "object",
    "required": [*_SESSION_REQUIRED, "truncated", "items"],
    "properties": {
        **{name: schema for name, schema in _SESSION_FIELDS.items() if name != "last_started_at"},
        "truncated": {
            "type": "boolean",
            "description": f"true when it has more than the {sessions.MAX_SESSION_RUNS} runs listed",
        },
        "items": {
            "type": "array",
            "items": _WHOLE_RUN,
            "description": f"its runs, oldest first, as history items with whole input and output; the first "
            f"{sessions.MAX_SESSION_RUNS}",
        },
    },
}


def _counted(name: str, count: str) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "object", "required": [name, count], "properties": {name: {"type": "string"},
                                                                                count: {"type": "integer"}}},
    }  # fmt: skip


_FACET_VALUES = {
    "type": "object",
    "required": ["agents", "users", "models", "days"],
    "properties": {
        "agents": {**_counted("agent_id", "runs"), "description": f"the {facets.TOP} agents with most runs"},
        "users": {**_counted("user_id", "runs"), "description": f"the {facets.TOP} users with most runs"},
        "models": {
            **_counted("model", "calls"),
            "description": f"the {facets.TOP} models with most model calls (not agent or chain spans) started in the "
            "window",
        },
        "days": {"type": "integer"},
    },
}
_LOG_RECORD = {
    "type": "object",
    "required": ["time", "severity_text", "severity_number", "event_name", "body", "attributes"],
    "properties": {
        "time": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "the record's time, else its observed time; null when it was sent with neither",
        },
        "severity_text": _NULLABLE_STRING,
        "severity_number": {"type": "integer", "description": "OTLP SeverityNumber: 0 unset, 1-4 TRACE, 21-24 FATAL"},
        "event_name": {**_NULLABLE_STRING, "description": "LogRecord.event_name, else its event.name attribute"},
        "body": {"description": "the record's body as a JSON value (bytes as {bytesValue: base64}); null when unset"},
        "attributes": {"type": "object"},
    },
}
_OUTLINE_FIELDS = ("input", "output", "attributes", "events", "log_records")
"""What a node of an outline (the logs' ``outline=true``) leaves out."""
_NODE = {
    "type": "object",
    "description": "a node; with outline=true, a node less " + ", ".join(_OUTLINE_FIELDS),
    "required": ["id", "type", "time", "status", "span_id", "depth", "started_at"],
    "properties": {
        "id": {"type": "string", "description": "the node's name as the agent names it"},
        "type": {"type": "string"},
        "input": _NULLABLE_STRING,
        "output": _NULLABLE_STRING,
        "time": _NULLABLE_STRING,
        "status": {"type": "string", "enum": ["running", "completed", "failed"]},
        "span_id": {"type": "string"},
        "parent_span_id": _NULLABLE_STRING,
        "depth": {"type": ["integer", "null"]},
        "started_at": {"type": "string", "format": "date-time"},
        "ended_at": {"type": ["string", "null"], "format": "date-time"},
        "duration_ms": _NULLABLE_NUMBER,
        "model": _NULLABLE_STRING,
        "tool": _NULLABLE_STRING,
        "tokens": _TOKENS,
        "cost": {"type": "object"},
        "attributes": {"type": "object"},
        "events": {"type": "array", "items": {"type": "object"}},
        "log_records": {
            "type": "array",
            "items": _LOG_RECORD,
            "description": (
                "The OTLP log records of this node's span (same trace id and span id), oldest first, at most "
                f"{node_logs.MAX_PER_NODE}. A node with no input (output) of its own takes it from them: the "
                "gen_ai.input.messages (gen_ai.output.messages) attribute of a "
                "gen_ai.client.inference.operation.details event, else the bodies of the older per-message events "
                "(gen_ai.system/user/assistant/tool.message; gen_ai.choice)."
            ),
        },
    },
}


def _param(name: str, description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_BODY}}}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _responses(ok: dict[str, Any], *, status: str = "200", not_found: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {status: ok, "400": _error("A bad or unknown parameter, named in the message")}
    if not_found:
        out["404"] = _error(not_found)
    out["401"] = _error("An API key is required (once keys exist) or is not valid")
    out["403"] = _error("The key's role does not allow this")
    return out


_TEXT = {"type": "string", "maxLength": 512}
_RUN_ID = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{8,32}$",
    "description": "32 hexadecimal digits (a trace id), or a unique prefix of 8 or more",
}
_CURSOR = {
    "type": "string",
    "maxLength": 512,
    "pattern": "^[A-Za-z0-9_-]*$",
    "description": "the cursor a previous page returned",
}
_DATE_TIME = {"type": "string", "format": "date-time"}
_DAYS = _param(
    "days", "Window: the last N days", {"type": "integer", "minimum": 1, "maximum": stats.MAX_DAYS, "default": 30}
)


def _limit(maximum: int, default: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": maximum, "default": default}


_HISTORY_PARAMS = [
    _param("agent_id", "Only runs of this agent", _TEXT),
    _param("user_id", "Only runs of this user", _TEXT),
    _param("session_id", "Only runs of this session", _TEXT),
    _param("status", "Only runs with this status", {"type": "string", "enum": list(history.STATUSES)}),
    _param("since", "Runs started at or after (ISO 8601)", _DATE_TIME),
    _param("until", "Runs started before (ISO 8601)", _DATE_TIME),
    _param("skip", "Runs to skip", {"type": "integer", "minimum": 0, "maximum": history.MAX_SKIP, "default": 0}),
    _param("limit", "Runs per page", _limit(history.MAX_LIMIT, history.DEFAULT_LIMIT)),
    _param("cursor", "From the previous page's X-Next-Cursor header (or Link rel=next), made with the same "
           "sort and order", _CURSOR),
    _param("q", "Only runs whose whole input or output holds this text, in any case (empty: no filter). Reads the "
           "runs' texts: slower than the other filters", _TEXT),
    _param("model", "Only runs with a model call of this model (see models)", _TEXT),
    _param("sort", "Order by start time, duration, total tokens or cost. Runs with no value (a running run's "
           "duration, an unknown cost) come last either way; the run id breaks ties. Any order but start, desc reads "
           "every run the filters keep: slower", {"type": "string", "enum": list(run_order.SORTS), "default": "start"}),
    _param("order", "desc: largest (newest) first; asc: smallest first",
           {"type": "string", "enum": list(run_order.DIRECTIONS), "default": "desc"}),
]  # fmt: skip
_SESSIONS_PARAMS = [
    _param("agent_id", "Only sessions with a run of this agent", _TEXT),
    _param("user_id", "Only sessions with a run of this user", _TEXT),
    _param("since", "Only sessions with a run started at or after (ISO 8601)", _DATE_TIME),
    _param("until", "Only sessions with a run started before (ISO 8601)", _DATE_TIME),
    _param("q", "Only sessions with a run whose whole input or output holds this text, in any case", _TEXT),
    _param("limit", "Sessions per page", _limit(sessions.MAX_LIMIT, sessions.DEFAULT_LIMIT)),
    _param("cursor", "From the previous page's next_cursor", _CURSOR),
]
_LOGS_PARAMS = [
    _param("run_id", "The run: its trace id, or a unique prefix of 8+ hex digits", _RUN_ID, required=True),
    _param("limit", "Nodes per page", _limit(logs.MAX_LIMIT, logs.DEFAULT_LIMIT)),
    _param("cursor", "From the previous page's next_cursor", _CURSOR),
    _param(
        "outline",
        "true: each node without " + ", ".join(_OUTLINE_FIELDS) + " (a waterfall's rows, a fraction of the bytes); "
        "ask for one node whole with span_id",
        {"type": "string", "enum": ["true", "false"], "default": "false"},
    ),
    _param(
        "span_id",
        "Only this node (16 hexadecimal digits), whole; the run's summary and errors as ever, no next_cursor",
        {"type": "string", "pattern": "^[0-9a-fA-F]{16}$", "description": "16 hexadecimal digits (a span id)"},
    ),
]
_LIVE_PARAMS = [
    _param("agent_id", "Only events of this agent's runs", _TEXT),
    _param("user_id", "Only events of this user's runs", _TEXT),
    _param(
        "run_id",
        "Only events of this run",
        {"type": "string", "pattern": "^([0-9a-fA-F]{32})?$", "description": "32 hexadecimal digits (a trace id)"},
    ),
    _param(
        "cursor",
        "The last cursor received: resume after it",
        {"type": "string", "pattern": "^[0-9]{0,19}$", "description": "a cursor this feed sent (a number)"},
    ),
    _param("token", "An API key (browsers cannot set a WebSocket's Authorization header)", _TEXT),
]
_LOGS = {
    "type": "object",
    "required": ["run_id", "nodes", "errors", "final_output", "summary"],
    "properties": {
        "run_id": {"type": "string"},
        "status": {"type": "string"},
        "nodes": {"type": "array", "items": _NODE},
        "errors": {"type": "array", "items": {"type": "object"}},
        "final_output": _NULLABLE_STRING,
        "summary": {
            "type": "object",
            "required": ["total_nodes", "successful_nodes", "failed_nodes", "total_duration"],
            "properties": {"tokens": _TOKENS},
        },
        "run": _RUN,
        "next_cursor": _NULLABLE_STRING,
    },
}
_LIVE = (
    "A WebSocket (RFC 6455): a GET with `Connection: Upgrade`, `Upgrade: websocket`, `Sec-WebSocket-Key` and "
    "`Sec-WebSocket-Version: 13`, answered `101 Switching Protocols`. Each message is JSON: "
    '`{"cursor": "<n>", "events": [...]}`, the first one with no events; event types: run.started, '
    "node.started, node.finished, run.finished, run.updated. Reconnect with `?cursor=<last cursor>` to miss "
    'nothing. A refused request (bad parameter, missing key) gets one `{"error": {...}}` message and close '
    "code 1008."
)
_SQL_RESULT = {
    "type": "object",
    "required": ["columns", "rows", "row_count", "truncated"],
    "properties": {
        "columns": {"type": "array", "items": {"type": "object", "required": ["name", "type"]}},
        "rows": {"type": "array", "items": {"type": "array"}},
        "row_count": {"type": "integer"},
        "truncated": {"type": "boolean"},
    },
}
_ARROW = {"type": "string", "format": "binary", "description": "Arrow IPC stream"}
_ARROW_CONTENT = {operations.ARROW_STREAM: {"schema": _ARROW}}
_SCHEDULE = {"type": "object", "required": ["tenant_id", "days", "every_seconds"]}
_NULLABLE_COUNT = {"type": ["integer", "null"], "minimum": 0}
_UPKEEP = {
    "type": "object",
    "required": ["lake", "every_seconds", "keep_snapshots_seconds", "defaults", "next_due_ms", "running", "last"],
    "properties": {
        "lake": {"type": "boolean", "const": True},
        "every_seconds": {"type": "integer", "minimum": 0, "description": "Seconds between passes; 0: none"},
        "keep_snapshots_seconds": {
            "type": "integer",
            "description": "Snapshots older are expired; files a merge or expiry dropped are deleted this long after",
        },
        "defaults": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The settings that are this server's default (--upkeep-every, --upkeep-keep-snapshots)",
        },
        "updated_ms": _NULLABLE_COUNT,
        "next_due_ms": {**_NULLABLE_COUNT, "description": "When the next pass is due; null: none scheduled"},
        "running": {"type": "boolean", "description": "A pass was claimed and has not ended"},
        "last": {
            "type": ["object", "null"],
            "properties": {
                "started_ms": _NULLABLE_COUNT,
                "finished_ms": _NULLABLE_COUNT,
                "duration_ms": _NULLABLE_COUNT,
                "by": {"type": ["string", "null"]},
                "rows_flushed": _NULLABLE_COUNT,
                "files_merged": _NULLABLE_COUNT,
                "files_written": _NULLABLE_COUNT,
                "snapshots_expired": _NULLABLE_COUNT,
                "files_deleted": _NULLABLE_COUNT,
                "orphans_deleted": _NULLABLE_COUNT,
                "error": {"type": ["string", "null"]},
            },
        },
    },
}
_UPKEEP_EVERY = {
    "type": ["integer", "null"],
    "description": f"0 (no scheduled passes), or {upkeep.MIN_EVERY_SECONDS} to {upkeep.MAX_SECONDS}; "
    "null: each server's --upkeep-every",
}
_UPKEEP_KEEP = {
    "type": ["integer", "null"],
    "minimum": upkeep.MIN_KEEP_SNAPSHOTS_SECONDS,
    "maximum": upkeep.MAX_SECONDS,
    "description": "null: each server's --upkeep-keep-snapshots",
}
_RETENTION_DAYS = {"type": "integer", "minimum": 0, "maximum": operations.MAX_RETENTION_DAYS, "default": 30}
_KEY = {"type": "object", "required": ["key_id", "tenant_id", "role"]}
_COUNT = {"type": "integer", "minimum": 0}
_RENORMALIZED = {
    "type": "object",
    "required": ["dry_run", "spans_checked", "spans_changed", "runs_updated", "running_runs_skipped",
                 "columns_changed", "conventions"],
    "properties": {
        "dry_run": {"type": "boolean"},
        "spans_checked": _COUNT,
        "spans_changed": _COUNT,
        "runs_updated": _COUNT,
        "running_runs_skipped": _COUNT,
        "columns_changed": {"type": "object", "additionalProperties": _COUNT,
                            "description": "Spans whose column changed (or would), by column; only columns that do"},
        "conventions": {"type": "string", "description": "Where the conventions came from: a file, or built-in"},
    },
}  # fmt: skip


def _body(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return {"required": False, "content": {"application/json": {"schema": schema}}}


def _operation(operation_id: str, summary: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"operationId": operation_id, "summary": summary, "parameters": [], **extra, "responses": responses}


def _reads() -> dict[str, Any]:
    return {
        "/api/v1/agents/history": {
            "get": _operation(
                "history",
                "Runs, newest first",
                _responses(_json({"type": "array", "items": _RUN})),
                parameters=_HISTORY_PARAMS,
            )
        },
        "/api/v1/agents/sessions": {
            "get": _operation(
                "sessions",
                "Sessions (runs sharing a session id), the latest run start first. A session is listed when one of "
                "its runs passes every filter; its figures are those of all its runs you may see",
                _responses(_json(_SESSIONS)),
                parameters=_SESSIONS_PARAMS,
            )
        },
        "/api/v1/agents/sessions/{session_id}": {
            "get": _operation(
                "session",
                "One session: its figures and its runs, oldest first",
                _responses(_json(_SESSION_DETAIL), not_found="No such session (or none of its runs visible to you)"),
                parameters=[{"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            )
        },
        "/api/v1/agents/facets": {
            "get": _operation(
                "facets",
                "The agents, users and models of the last N days, most frequent first: what history filters offer",
                _responses(_json(_FACET_VALUES)),
                parameters=[_DAYS],
            )
        },
        "/api/v1/agents/logs": {
            "get": _operation(
                "logs",
                "One run's nodes in tree order, with errors and a summary",
                _responses(_json(_LOGS), not_found="No such run (or not visible to you)"),
                parameters=_LOGS_PARAMS,
            )
        },
        "/api/v1/agents/stats": {
            "get": _operation(
                "stats",
                "Run statistics per user over the last N days",
                _responses(_json(_STATS)),
                parameters=[
                    _param("user_id", "The user (all users when absent)", _TEXT),
                    _param("agent_id", "Only this agent's runs", _TEXT),
                    _DAYS,
                ],
            )
        },
        "/api/v1/agents/metrics": {
            "get": _operation(
                "metrics",
                "Per-agent performance over the last N days. Counts, sums and averages are exact; duration "
                "quantiles (p50/p95/p99, and p95 per facet) are within 2 % of the exact ones (merged histograms).",
                _responses(_json(_METRICS)),
                parameters=[
                    _param("agent_id", "The agent (all agents when absent)", _TEXT),
                    _param("flow_id", "Another name for agent_id", _TEXT),
                    _param("user_id", "Only this user's runs (a key bound to another user sees none)", _TEXT),
                    _DAYS,
                ],
            )
        },
        "/api/v1/agents/live": {
            "get": _operation(
                "live",
                "Run and node events as they commit (WebSocket)",
                {
                    "101": {"description": "Switching Protocols: the WebSocket is open"},
                    "400": _error("A bad or unknown parameter, named in the message"),
                    "401": _error("An API key is required (once keys exist) or is not valid"),
                    "426": _error("Not a WebSocket upgrade request"),
                },
                description=_LIVE,
                parameters=_LIVE_PARAMS,
            )
        },
    }


def _operations() -> dict[str, Any]:
    admin = "Admin keys only (any caller without keys)."
    return {
        "/api/v1/sql": {
            "post": _operation(
                "sql",
                "Read-only SQL: one SELECT over the views (a tenant's admin sees its own rows only)",
                _responses(
                    {
                        "description": "The rows: JSON, or Arrow IPC with Accept: application/vnd.apache.arrow.stream",
                        "content": {
                            "application/json": {"schema": _SQL_RESULT},
                            operations.ARROW_STREAM: {"schema": _ARROW},
                        },
                    }
                ),
                description=admin,
                requestBody=_body(
                    {
                        "sql": {"type": "string", "minLength": 1},
                        "max_rows": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": sql_console.MAX_ROWS,
                            "default": sql_console.DEFAULT_MAX_ROWS,
                        },
                    },
                    ("sql",),
                ),
            )
        },
        "/api/v1/export": {
            "get": _operation(
                "export",
                "A view's rows started since a time, as an Arrow IPC stream",
                _responses(
                    {"description": "Arrow IPC stream", "content": {operations.ARROW_STREAM: {"schema": _ARROW}}}
                ),
                description=admin + " Not for keys bound to a user.",
                parameters=[
                    _param("table", "The view", {"type": "string", "enum": list(export.EXPORTS), "default": "spans"}),
                    _param("since", "Rows started at or after (ISO 8601)", _DATE_TIME),
                ],
            )
        },
        "/api/v1/executions/cleanup": {
            "post": _operation(
                "cleanup",
                "Delete the runs that ended over N days ago (or count them: dry_run)",
                _responses(_json({"type": "object", "required": ["dry_run", "days", "runs", "spans", "log_records"]})),
                description=admin,
                requestBody=_body({"days": _RETENTION_DAYS, "dry_run": {"type": "boolean", "default": False}}),
            )
        },
        "/api/v1/executions/schedule": {
            "get": _operation(
                "get_schedule", "The background cleanup of your tenant", _responses(_json(_SCHEDULE)), description=admin
            ),
            "post": _operation(
                "set_schedule",
                "Set the background cleanup of your tenant",
                _responses(_json(_SCHEDULE)),
                description=admin,
                requestBody=_body(
                    {
                        "days": _RETENTION_DAYS,
                        "every_seconds": {
                            "type": "integer",
                            "minimum": operations.MIN_EVERY_SECONDS,
                            "maximum": operations.MAX_EVERY_SECONDS,
                            "default": 3600,
                        },
                    }
                ),
            ),
        },
        "/api/v1/executions/reprice": {
            "post": _operation(
                "reprice",
                "Price again the computed and unknown costs of spans started since a date",
                _responses(_json({"type": "object", "required": ["spans_checked", "spans_changed", "runs_updated"]})),
                description=admin,
                requestBody=_body({"since": _DATE_TIME}, ("since",)),
            )
        },
        "/api/v1/executions/renormalize": {
            "post": _operation(
                "renormalize",
                "Read stored spans again by the conventions this server was started with (--conventions)",
                _responses(_json(_RENORMALIZED)),
                description=admin + " Runs still running are left alone; a dry run changes nothing.",
                requestBody=_body(
                    {"since": {**_DATE_TIME, "type": ["string", "null"]}, "dry_run": {"type": "boolean"}}
                ),
            )
        },
        **_upkeep(admin),
        **_keys(admin),
    }


def _upkeep(admin: str) -> dict[str, Any]:
    lake_only = {"409": _error("The server's database is a DuckDB file: upkeep is for lakes")}
    return {
        "/api/v1/lake/upkeep": {
            "get": _operation(
                "get_upkeep",
                "The lake's upkeep: its schedule and its last pass",
                {**_responses(_json(_UPKEEP)), **lake_only},
                description=admin + " The same for every process on the lake.",
            ),
            "post": _operation(
                "set_upkeep",
                "Change the lake's upkeep schedule, for every process on it",
                {**_responses(_json(_UPKEEP)), **lake_only},
                description=admin + " A setting left out is kept; null returns it to each server's default. "
                "A read-only server (--no-ingest) refuses.",
                requestBody=_body({"every_seconds": _UPKEEP_EVERY, "keep_snapshots_seconds": _UPKEEP_KEEP}),
            ),
        },
        "/api/v1/lake/upkeep/run": {
            "post": _operation(
                "run_upkeep",
                "Run an upkeep pass now; answered when it ends",
                {
                    **_responses(_json(_UPKEEP)),
                    "409": _error("The database is a DuckDB file, or another process started a pass at that moment"),
                },
                description=admin + " Runs on a collector (a read-only server refuses); a failed pass is "
                "answered 200 with its error in last.error.",
            )
        },
    }


def _keys(admin: str) -> dict[str, Any]:
    return {
        "/api/v1/keys": {
            "get": _operation(
                "list_keys",
                "Your tenant's API keys (never their secrets)",
                _responses(_json({"type": "array", "items": _KEY})),
                description=admin,
            ),
            "post": _operation(
                "create_key",
                "Create an API key; the key itself is in this answer only",
                _responses(_json({**_KEY, "required": ["key", *_KEY["required"]]}, "Created"), status="201"),
                description=admin,
                requestBody=_body(
                    {
                        "tenant": _NULLABLE_STRING,
                        "role": {"type": ["string", "null"], "enum": ["ingest", "read", "admin", None]},
                        "user": _NULLABLE_STRING,
                        "label": _NULLABLE_STRING,
                    }
                ),
            ),
        },
        "/api/v1/keys/{key_id}": {
            "delete": _operation(
                "revoke_key",
                "Revoke an API key",
                _responses({"description": "Revoked"}, status="204", not_found="No such active key in your tenant"),
                description=admin,
                parameters=[{"name": "key_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            )
        },
    }


_HEALTH = {
    "type": "object",
    "required": ["status", "schema_version", "instance_id"],
    "properties": {
        "status": {"type": "string", "enum": ["ok"]},
        "schema_version": {"type": "integer"},
        "instance_id": {"type": "string", "description": "This run of the server: random, new at each start"},
    },
}


_HTML = {"200": {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}}}
_PAGE_NOTE = (
    "Open to every caller (the page asks for a key itself). The same HTML at every page's URL; the page's "
    "scripts read the rest of the address, so any query string is accepted."
)


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": "string"}}


def _pages() -> dict[str, Any]:
    """The web page's URLs and its static files."""

    def page(operation_id: str, summary: str, *parameters: dict[str, Any]) -> dict[str, Any]:
        return {"get": _operation(operation_id, summary, _HTML, description=_PAGE_NOTE, parameters=list(parameters))}

    static = {
        "200": {"description": "The file (JavaScript, CSS or a licence text)", "content": {"*/*": {"schema": {}}}},
        "404": _error("No such file"),
    }
    return {
        "/": page("web_page", "The web page: the runs, with filters, paging and live updates"),
        "/runs/{run_id}": page("web_run", "The web page of one run: its waterfall", _path_param("run_id", "A run id")),
        "/sessions": page("web_sessions", "The web page of the sessions, newest first"),
        "/sessions/{session_id}": page(
            "web_session",
            "The web page of one session: its runs as a conversation",
            _path_param("session_id", "A session id"),
        ),
        "/compare": page("web_compare", "The web page comparing two runs (`?a=<run_id>&b=<run_id>`)"),
        "/dashboard": page("web_dashboard", "The web page's charts of the stats and metrics"),
        "/static/{name}": {
            "get": _operation(
                "web_static", "One of the web page's own files", static, parameters=[_path_param("name", "A file name")]
            )
        },
        "/static/vendor/{name}": {
            "get": _operation(
                "web_vendor",
                "One of the web page's vendored libraries",
                static,
                parameters=[_path_param("name", "A file name")],
            )
        },
    }


def _service() -> dict[str, Any]:
    return {
        **_pages(),
        "/healthz": {
            "get": _operation(
                "healthz",
                "Liveness and database check",
                _responses(_json(_HEALTH)),
                description="Open to every caller. `instance_id` is drawn afresh each time the server starts and "
                "is written in the files by which the CLI finds it: the CLI believes a file only if the server "
                "at its URL answers with the same id.",
            )
        },
        "/openapi.json": {
            "get": _operation(
                "openapi", "This document", _responses(_json({"type": "object", "required": ["openapi", "paths"]}))
            )
        },
    }


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI 3.1 document (a new copy each call)."""
    return {
        "openapi": "3.1.0",
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}, {}],
        "info": {"title": "agentlog", "version": __version__, "description": "Execution history for AI agents."},
        "paths": {**_reads(), **_operations(), **_service()},
    }


@functools.cache
def query_parameters(path: str, method: str) -> dict[str, dict[str, Any]]:
    """The query parameters the operation ``method`` (lower case) of ``path`` declares: name -> schema."""
    operation = openapi_schema()["paths"][path][method]
    return {p["name"]: p["schema"] for p in operation["parameters"] if p["in"] == "query"}
