"""The Starlette application: routes, error handlers, and the state they share."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from agentlog.api import agents
from agentlog.api.errors import EXCEPTION_HANDLERS
from agentlog.api.live import LiveFeed, live_events
from agentlog.api.openapi import openapi_schema
from agentlog.api.responses import ORJSONResponse
from agentlog.api.web import index
from agentlog.query import Reader


async def healthz(request: Request) -> Response:
    reader: Reader = request.app.state.reader
    await reader.read(lambda cursor: cursor.execute("SELECT 1").fetchone())
    return ORJSONResponse({"status": "ok", "schema_version": request.app.state.schema_version})


async def openapi(request: Request) -> Response:
    return ORJSONResponse(openapi_schema())


def build_api_app(reader: Reader, feed: LiveFeed, *, schema_version: int) -> Starlette:
    """The API on top of ``reader``; ``feed`` carries commit notifications for the WebSocket."""
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
        ],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.reader = reader
    app.state.feed = feed
    app.state.schema_version = schema_version
    return app
