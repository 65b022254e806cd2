"""The OpenAPI description of the API, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from agentlog import __version__
from agentlog.query import history, logs, stats

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_TOKENS = {
    "type": "object",
    "properties": {k: {"type": ["integer", "null"]} for k in ("input", "output", "cache_read", "reasoning", "total")},
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
_RUN = {
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
        "run_id": {"type": "string", "description": "The trace id: 32 lowercase hex digits."},
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
        "models": {"type": "array", "items": {"type": "string"}},
        "successful_nodes": {"type": "integer"},
        "failed_nodes": {"type": "integer"},
        "error": {
            "type": ["object", "null"],
            "properties": {"node": _NULLABLE_STRING, "type": _NULLABLE_STRING, "message": _NULLABLE_STRING},
        },
    },
}
_NODE = {
    "type": "object",
    "required": ["id", "type", "input", "output", "time", "status"],
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
    },
}


def _param(name: str, description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def _responses(ok: dict[str, Any], *, not_found: bool = False) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": _ERROR_BODY}}}
    out: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": ok}}},
        "400": {"description": "A bad parameter, named in the message", **error},
    }
    if not_found:
        out["404"] = {"description": "No such run (or not visible to you)", **error}
    out["401"] = {"description": "An API key is required (once keys exist) or is not valid", **error}
    out["403"] = {"description": "The key's role does not allow this", **error}
    return out


_TEXT = {"type": "string", "maxLength": 512}
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
    _param("since", "Runs started at or after (ISO 8601)", {"type": "string", "format": "date-time"}),
    _param("until", "Runs started before (ISO 8601)", {"type": "string", "format": "date-time"}),
    _param("skip", "Runs to skip", {"type": "integer", "minimum": 0, "maximum": history.MAX_SKIP, "default": 0}),
    _param("limit", "Runs per page", _limit(history.MAX_LIMIT, history.DEFAULT_LIMIT)),
    _param("cursor", "From the previous page's X-Next-Cursor header (or Link rel=next)", _TEXT),
]
_LOGS_PARAMS = [
    _param("run_id", "The run (trace id, 32 hex digits)", _TEXT, required=True),
    _param("limit", "Nodes per page", _limit(logs.MAX_LIMIT, logs.DEFAULT_LIMIT)),
    _param("cursor", "From the previous page's next_cursor", _TEXT),
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
        },
        "next_cursor": _NULLABLE_STRING,
    },
}
_LIVE = (
    "WebSocket. Query: agent_id, user_id, run_id, cursor. Each message: "
    '{"cursor": "<n>", "events": [...]}; event types: run.started, node.started, node.finished, '
    "run.finished, run.updated. Reconnect with ?cursor=<last cursor> to miss nothing."
)


def _get(operation_id: str, summary: str, parameters: list[dict[str, Any]], ok: dict[str, Any], **kw: bool) -> Any:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": parameters,
            "responses": _responses(ok, **kw),
        }
    }


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI 3.1 document."""
    health = {"type": "object", "required": ["status"]}
    return {
        "openapi": "3.1.0",
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}, {}],
        "info": {"title": "agentlog", "version": __version__, "description": "Execution history for AI agents."},
        "paths": {
            "/api/v1/agents/history": _get(
                "history", "Runs, newest first", _HISTORY_PARAMS, {"type": "array", "items": _RUN}
            ),
            "/api/v1/agents/logs": _get(
                "logs", "One run's nodes in tree order, with errors and a summary", _LOGS_PARAMS, _LOGS, not_found=True
            ),
            "/api/v1/agents/stats": _get(
                "stats",
                "Run statistics per user over the last N days",
                [
                    _param("user_id", "The user (all users when absent)", _TEXT),
                    _param("agent_id", "Only this agent's runs", _TEXT),
                    _DAYS,
                ],
                {"type": "object", "required": ["runs", "success_rate", "per_day"]},
            ),
            "/api/v1/agents/metrics": _get(
                "metrics",
                "Per-agent performance over the last N days. Counts, sums and averages are exact; duration "
                "quantiles (p50/p95/p99, and p95 per facet) are within 2 % of the exact ones (merged histograms).",
                [
                    _param("agent_id", "The agent (all agents when absent)", _TEXT),
                    _param("flow_id", "Same as agent_id (the seed's name)", _TEXT),
                    _DAYS,
                ],
                {"type": "object", "required": ["agents"]},
            ),
            "/healthz": _get("healthz", "Liveness and database check", [], health),
        },
        "x-websocket": {"/api/v1/agents/live": _LIVE},
    }
