"""The Starlette application: routes, error handlers, and the state they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from agentlog.api import agents, keys, operations, params, web
from agentlog.api.auth import AuthMiddleware, Endpoint
from agentlog.api.errors import EXCEPTION_HANDLERS
from agentlog.api.live import LiveFeed, live_events, upgrade_required
from agentlog.api.openapi import openapi_schema, query_parameters
from agentlog.api.operations import Write
from agentlog.api.responses import ORJSONResponse
from agentlog.api.web import index, static_file, vendor_file
from agentlog.proto import DEFAULT_MAX_ATTRIBUTE_LENGTH
from agentlog.proto.conventions import BUILT_IN, Conventions
from agentlog.query import Reader
from agentlog.store.keys import Keyring
from agentlog.store.schedules import Schedule
from agentlog.store.upkeep import Defaults, Upkeep


async def healthz(request: Request) -> Response:
    reader: Reader = request.app.state.reader
    await reader.read(lambda cursor: cursor.execute("SELECT 1").fetchone())
    state = request.app.state
    return ORJSONResponse({"status": "ok", "schema_version": state.schema_version, "instance_id": state.instance_id})


async def openapi(request: Request) -> Response:
    return ORJSONResponse(openapi_schema())


def route(path: str, **endpoints: Endpoint) -> Route:
    """``path``'s endpoints by method (``GET=...``, ``POST=...``), refusing query parameters their
    OpenAPI operation does not declare (or whose values do not match the declared pattern)."""
    declared = {method: query_parameters(path, method.lower()) for method in endpoints}

    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        params.check_declared(request.query_params, declared[method])
        return await endpoints[method](request)

    return Route(path, dispatch, methods=list(endpoints), name=path)


def build_api_app(
    reader: Reader,
    feed: LiveFeed,
    *,
    schema_version: int,
    write: Write[Any] | None = None,
    default_schedule: Schedule | None = None,
    upkeep_defaults: Defaults | None = None,
    run_upkeep: Callable[[], Awaitable[Upkeep]] | None = None,
    keyring: Keyring | None = None,
    instance_id: str = "",
    conventions: Conventions = BUILT_IN,
    max_attribute_length: int = DEFAULT_MAX_ATTRIBUTE_LENGTH,
) -> Starlette:
    """The API on top of ``reader``; ``feed`` carries commit notifications for the WebSocket;
    ``write`` runs maintenance on the writer thread (None: a read-only API); ``keyring``
    authenticates callers (empty: open local mode); ``instance_id``: the server's, which
    ``/healthz`` answers so that the CLI can tell it from another server on the same port;
    ``conventions`` and ``max_attribute_length``: the collector's, which re-normalising applies;
    ``upkeep_defaults``: a lake's upkeep schedule where the lake sets none (None: not a lake), and
    ``run_upkeep`` runs a pass now (None: this process runs no upkeep)."""
    keyring = keyring or Keyring()
    app = Starlette(
        routes=[
            # The page's URLs take whatever query its scripts put there (filters, the runs compared).
            *(Route(path, index, methods=["GET"], name=path) for path in web.PAGE_PATHS),
            Route("/static/{name}", static_file, methods=["GET"]),
            Route("/static/vendor/{name}", vendor_file, methods=["GET"]),
            route("/healthz", GET=healthz),
            route("/openapi.json", GET=openapi),
            route("/api/v1/agents/history", GET=agents.get_history),
            route("/api/v1/agents/sessions", GET=agents.get_sessions),
            route("/api/v1/agents/sessions/{session_id}", GET=agents.get_session),
            route("/api/v1/agents/facets", GET=agents.get_facets),
            route("/api/v1/agents/logs", GET=agents.get_logs),
            route("/api/v1/agents/stats", GET=agents.get_stats),
            route("/api/v1/agents/metrics", GET=agents.get_metrics),
            WebSocketRoute("/api/v1/agents/live", live_events),
            route("/api/v1/agents/live", GET=upgrade_required),  # the same path over plain HTTP: a 426
            route("/api/v1/sql", POST=operations.post_sql),
            route("/api/v1/export", GET=operations.get_export),
            route("/api/v1/executions/cleanup", POST=operations.post_cleanup),
            route("/api/v1/executions/schedule", GET=operations.get_schedule, POST=operations.post_schedule),
            route("/api/v1/executions/reprice", POST=operations.post_reprice),
            route("/api/v1/executions/renormalize", POST=operations.post_renormalize),
            route("/api/v1/lake/upkeep", GET=operations.get_upkeep, POST=operations.post_upkeep),
            route("/api/v1/lake/upkeep/run", POST=operations.post_upkeep_run),
            route("/api/v1/keys", GET=keys.list_keys, POST=keys.create_key),
            route("/api/v1/keys/{key_id}", DELETE=keys.revoke_key),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(AuthMiddleware, keyring=keyring)],
    )
    app.state.reader = reader
    app.state.feed = feed
    app.state.schema_version = schema_version
    app.state.instance_id = instance_id
    app.state.write = write
    app.state.keyring = keyring
    app.state.conventions = conventions
    app.state.max_attribute_length = max_attribute_length
    app.state.default_schedule = default_schedule or Schedule("default", 30, 3600)
    app.state.upkeep_defaults = upkeep_defaults
    app.state.run_upkeep = run_upkeep
    return app
