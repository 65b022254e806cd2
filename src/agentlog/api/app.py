"""The Starlette application: routes, error handlers, and the state they share."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from agentlog.api import agents, keys, operations
from agentlog.api.auth import AuthMiddleware
from agentlog.api.errors import EXCEPTION_HANDLERS
from agentlog.api.live import LiveFeed, live_events
from agentlog.api.openapi import openapi_schema
from agentlog.api.operations import Write
from agentlog.api.responses import ORJSONResponse
from agentlog.api.web import index
from agentlog.query import Reader
from agentlog.store.keys import Keyring
from agentlog.store.schedules import Schedule


async def healthz(request: Request) -> Response:
    reader: Reader = request.app.state.reader
    await reader.read(lambda cursor: cursor.execute("SELECT 1").fetchone())
    return ORJSONResponse({"status": "ok", "schema_version": request.app.state.schema_version})


async def openapi(request: Request) -> Response:
    return ORJSONResponse(openapi_schema())


def build_api_app(
    reader: Reader,
    feed: LiveFeed,
    *,
    schema_version: int,
    write: Write[Any] | None = None,
    default_schedule: Schedule | None = None,
    keyring: Keyring | None = None,
) -> Starlette:
    """The API on top of ``reader``; ``feed`` carries commit notifications for the WebSocket;
    ``write`` runs maintenance on the writer thread (None: a read-only API); ``keyring``
    authenticates callers (empty: open local mode)."""
    keyring = keyring or Keyring()
    app = Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/openapi.json", openapi),
            Route("/api/v1/agents/history", agents.get_history),
            Route("/api/v1/agents/logs", agents.get_logs),
            Route("/api/v1/agents/stats", agents.get_stats),
            Route("/api/v1/agents/metrics", agents.get_metrics),
            WebSocketRoute("/api/v1/agents/live", live_events),
            Route("/api/v1/sql", operations.post_sql, methods=["POST"]),
            Route("/api/v1/export", operations.get_export),
            Route("/api/v1/executions/cleanup", operations.post_cleanup, methods=["POST"]),
            Route("/api/v1/executions/schedule", operations.get_schedule),
            Route("/api/v1/executions/schedule", operations.post_schedule, methods=["POST"]),
            Route("/api/v1/executions/reprice", operations.post_reprice, methods=["POST"]),
            Route("/api/v1/keys", keys.create_key, methods=["POST"]),
            Route("/api/v1/keys", keys.list_keys),
            Route("/api/v1/keys/{key_id}", keys.revoke_key, methods=["DELETE"]),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(AuthMiddleware, keyring=keyring)],
    )
    app.state.reader = reader
    app.state.feed = feed
    app.state.schema_version = schema_version
    app.state.write = write
    app.state.keyring = keyring
    app.state.default_schedule = default_schedule or Schedule("default", 30, 3600)
    return app
