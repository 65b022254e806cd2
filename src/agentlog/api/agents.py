"""``/api/v1/agents/...``: history, sessions, facets, logs, stats and metrics. Handlers only parse and delegate."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from agentlog.api import params
from agentlog.api.auth import needs
from agentlog.api.responses import ORJSONResponse
from agentlog.errors import InvalidRequest
from agentlog.query import (
    FacetsQuery,
    HistoryQuery,
    LogsQuery,
    MetricsQuery,
    Reader,
    Scope,
    SessionsQuery,
    StatsQuery,
    agent_metrics,
    list_facets,
    list_runs,
    list_sessions,
    order_of,
    run_logs,
    run_stats,
    session_detail,
)
from agentlog.query import facets as facets_module
from agentlog.query import history as history_module
from agentlog.query import logs as logs_module
from agentlog.query import run_order as order_module
from agentlog.query import sessions as sessions_module
from agentlog.query import stats as stats_module
from agentlog.query.scope import narrowed
from agentlog.store.keys import READERS


def scope_of(request: Request) -> Scope:
    """Whose data this request may read: set by the auth middleware, else the local tenant."""
    scope = getattr(request.state, "scope", None)
    return scope if isinstance(scope, Scope) else Scope()


def reader_of(request: Request) -> Reader:
    reader: Reader = request.app.state.reader
    return reader


@needs(*READERS)
async def get_history(request: Request) -> Response:
    q = request.query_params
    query = HistoryQuery(
        agent_id=params.text(q, "agent_id"),
        user_id=params.text(q, "user_id"),
        session_id=params.text(q, "session_id"),
        status=params.choice(q, "status", history_module.STATUSES),
        since_ns=params.time(q, "since"),
        until_ns=params.time(q, "until"),
        skip=params.integer(q, "skip", 0, 0, history_module.MAX_SKIP),
        limit=params.integer(q, "limit", history_module.DEFAULT_LIMIT, 1, history_module.MAX_LIMIT),
        cursor=params.text(q, "cursor"),
        q=params.text(q, "q"),
        model=params.text(q, "model"),
        order=order_of(
            params.choice(q, "sort", order_module.SORTS), params.choice(q, "order", order_module.DIRECTIONS)
        ),
    )
    reader = reader_of(request)
    page = await reader.read(list_runs, scope_of(request), query, reader.clock())
    return ORJSONResponse(page.runs, headers=_next_page(request, page.next_cursor))


def _next_page(request: Request, next_cursor: str | None) -> dict[str, str]:
    """The headers that lead to the next page (none on the last): X-Next-Cursor, and a Link to it."""
    if next_cursor is None:
        return {}
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "skip")]
    url = request.url.replace(query=urlencode([*kept, ("cursor", next_cursor)]))
    return {"Link": f'<{url}>; rel="next"', "X-Next-Cursor": next_cursor}


@needs(*READERS)
async def get_sessions(request: Request) -> Response:
    q = request.query_params
    query = SessionsQuery(
        agent_id=params.text(q, "agent_id"),
        user_id=params.text(q, "user_id"),
        since_ns=params.time(q, "since"),
        until_ns=params.time(q, "until"),
        q=params.text(q, "q"),
        limit=params.integer(q, "limit", sessions_module.DEFAULT_LIMIT, 1, sessions_module.MAX_LIMIT),
        cursor=params.text(q, "cursor"),
    )
    page = await reader_of(request).read(list_sessions, scope_of(request), query)
    body = {"sessions": page.sessions, "next_cursor": page.next_cursor}
    return ORJSONResponse(body, headers=_next_page(request, page.next_cursor))


@needs(*READERS)
async def get_session(request: Request) -> Response:
    session_id = request.path_params["session_id"]
    if not 0 < len(session_id) <= params.MAX_TEXT:
        raise InvalidRequest(f"session_id must be 1 to {params.MAX_TEXT} characters")
    return ORJSONResponse(await reader_of(request).read(session_detail, scope_of(request), session_id))


@needs(*READERS)
async def get_facets(request: Request) -> Response:
    q = request.query_params
    query = FacetsQuery(days=params.integer(q, "days", facets_module.DEFAULT_DAYS, 1, stats_module.MAX_DAYS))
    reader = reader_of(request)
    return ORJSONResponse(await reader.read(list_facets, scope_of(request), query, reader.clock()))


@needs(*READERS)
async def get_logs(request: Request) -> Response:
    q = request.query_params
    run_id = params.text(q, "run_id")
    if run_id is None:
        raise InvalidRequest("run_id is required")
    query = LogsQuery(
        run_id=run_id,
        limit=params.integer(q, "limit", logs_module.DEFAULT_LIMIT, 1, logs_module.MAX_LIMIT),
        cursor=params.text(q, "cursor"),
        outline=params.flag(q, "outline"),
        span_id=params.text(q, "span_id"),
    )
    logs = await reader_of(request).read(run_logs, scope_of(request), query)
    headers = {}
    if logs["next_cursor"] is not None:
        url = request.url.replace(
            query=urlencode(
                {"run_id": run_id, "limit": query.limit, "cursor": logs["next_cursor"]}
                | ({"outline": "true"} if query.outline else {})
            )
        )
        headers["Link"] = f'<{url}>; rel="next"'
        headers["X-Next-Cursor"] = logs["next_cursor"]
    return ORJSONResponse(logs, headers=headers)


@needs(*READERS)
async def get_stats(request: Request) -> Response:
    q = request.query_params
    query = StatsQuery(
        user_id=params.text(q, "user_id"),
        agent_id=params.text(q, "agent_id"),
        days=params.integer(q, "days", stats_module.DEFAULT_DAYS, 1, stats_module.MAX_DAYS),
    )
    reader = reader_of(request)
    return ORJSONResponse(await reader.read(run_stats, scope_of(request), query, reader.clock()))


def _agent_or_flow(q: QueryParams) -> str | None:
    """``agent_id``, or ``flow_id``, another name for it; both checked even when both are given."""
    agent_id, flow_id = params.text(q, "agent_id"), params.text(q, "flow_id")
    return agent_id or flow_id


@needs(*READERS)
async def get_metrics(request: Request) -> Response:
    q = request.query_params
    query = MetricsQuery(
        agent_id=_agent_or_flow(q),
        days=params.integer(q, "days", stats_module.DEFAULT_DAYS, 1, stats_module.MAX_DAYS),
    )
    reader = reader_of(request)
    scope = scope_of(request)
    users = narrowed(scope, params.text(q, "user_id"))
    found = await reader.read(agent_metrics, users or scope, query, reader.clock(), reader.metric_days)
    if users is None:
        found = {**found, "agents": []}  # another user's, to a user-bound key: as for a user with no runs
    return ORJSONResponse(found)
