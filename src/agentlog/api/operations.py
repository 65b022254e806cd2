"""Operations over HTTP: read-only SQL, export, retention, repricing, re-normalising, a lake's upkeep (what the
CLI calls on a running server).

Writes run on the collector's writer thread through ``app.state.write`` (set
by the server), so they never conflict with ingest; this module does not
import the collector.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import pyarrow as pa
from starlette.requests import Request
from starlette.responses import Response

from agentlog.api import params
from agentlog.api.agents import reader_of, scope_of
from agentlog.api.auth import needs, principal_of
from agentlog.api.responses import ORJSONResponse
from agentlog.errors import Conflict, InvalidRequest
from agentlog.query.export import export_table
from agentlog.query.sql_console import DEFAULT_MAX_ROWS, MAX_ROWS, SqlResult, run_sql
from agentlog.query.timefmt import days_ago, parse_time
from agentlog.store import renormalizing, repricing, retention, schedules, upkeep
from agentlog.store.keys import ADMINS

T = TypeVar("T")
Write = Callable[[Callable[[Any], T]], Awaitable[T]]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
MAX_BODY = 1024 * 1024
MAX_RETENTION_DAYS = 36_500
MIN_EVERY_SECONDS = 60
MAX_EVERY_SECONDS = 366 * 86_400


async def json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise InvalidRequest(f"request body over {MAX_BODY} bytes")
    try:
        value = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as error:
        raise InvalidRequest(f"request body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidRequest("request body must be a JSON object")
    return value


def _int(body: dict[str, Any], name: str, default: int, lowest: int, highest: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        raise InvalidRequest(f"{name} must be an integer between {lowest} and {highest}")
    return value


def _bool(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise InvalidRequest(f"{name} must be true or false")
    return value


def writer_of(request: Request) -> Write[Any]:
    write: Write[Any] | None = getattr(request.app.state, "write", None)
    if write is None:
        raise InvalidRequest("this server does not accept writes")
    return write


@needs(*ADMINS)
async def post_sql(request: Request) -> Response:
    body = await json_body(request)
    sql = body.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise InvalidRequest("sql must be a non-empty string")
    max_rows = _int(body, "max_rows", DEFAULT_MAX_ROWS, 1, MAX_ROWS)
    principal = principal_of(request)
    tenant = principal.tenant_id if principal else None  # None: the local operator, no keys configured
    result: SqlResult = await reader_of(request).read_alone(
        lambda cursor: run_sql(cursor, sql, max_rows=max_rows, tenant=tenant)
    )
    if ARROW_STREAM in request.headers.get("accept", ""):
        headers = {"X-Truncated": "true" if result.truncated else "false"}
        return Response(_arrow_bytes(result.table), media_type=ARROW_STREAM, headers=headers)
    return ORJSONResponse(result.to_json())


def _arrow_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


@needs(*ADMINS)
async def get_export(request: Request) -> Response:
    q = request.query_params
    since = params.time(q, "since") or 0
    arrow = await reader_of(request).read(export_table, scope_of(request), q.get("table", "spans"), since)
    return Response(_arrow_bytes(arrow), media_type=ARROW_STREAM)


@needs(*ADMINS)
async def post_cleanup(request: Request) -> Response:
    body = await json_body(request)
    days = _int(body, "days", 30, 0, MAX_RETENTION_DAYS)
    dry_run = _bool(body, "dry_run", False)  # anything else must not mean "delete"
    tenant = scope_of(request).tenant_id
    cutoff = days_ago(days, reader_of(request).clock())
    if dry_run:
        counted = await reader_of(request).read(lambda cursor: retention.count_expired(cursor, tenant, cutoff))
        return ORJSONResponse({"dry_run": True, "days": days, **counted.to_json()})
    deleted = await retention.delete_expired(writer_of(request), tenant, cutoff)
    return ORJSONResponse({"dry_run": False, "days": days, **deleted.to_json()})


@needs(*ADMINS)
async def get_schedule(request: Request) -> Response:
    tenant = scope_of(request).tenant_id
    found = await reader_of(request).read(schedules.schedules)
    default = request.app.state.default_schedule
    schedule = found.get(tenant) or schedules.Schedule(tenant, default.days, default.every_seconds)
    return ORJSONResponse(schedule.to_json())


@needs(*ADMINS)
async def post_schedule(request: Request) -> Response:
    body = await json_body(request)
    days = _int(body, "days", 30, 0, MAX_RETENTION_DAYS)
    every = _int(body, "every_seconds", 3600, MIN_EVERY_SECONDS, MAX_EVERY_SECONDS)
    tenant = scope_of(request).tenant_id
    schedule = await writer_of(request)(lambda cursor: schedules.set_schedule(cursor, tenant, days, every))
    return ORJSONResponse(schedule.to_json())


@needs(*ADMINS)
async def post_reprice(request: Request) -> Response:
    body = await json_body(request)
    since_text = body.get("since")
    if not isinstance(since_text, str):
        raise InvalidRequest("since must be an ISO 8601 date or date-time")
    since = parse_time(since_text, "since")
    tenant = scope_of(request).tenant_id
    result = await writer_of(request)(lambda cursor: repricing.reprice(cursor, tenant, since))
    return ORJSONResponse(result.to_json())


@needs(*ADMINS)
async def post_renormalize(request: Request) -> Response:
    """Read stored spans again by the conventions this server was started with (``since``: those started
    at or after it; none: all); ``dry_run`` counts what would change."""
    body = await json_body(request)
    since_text = body.get("since")
    if since_text is not None and not isinstance(since_text, str):
        raise InvalidRequest("since must be an ISO 8601 date or date-time")
    since = parse_time(since_text, "since") if since_text else 0
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise InvalidRequest("dry_run must be true or false")
    tenant = scope_of(request).tenant_id
    conventions, max_length = request.app.state.conventions, request.app.state.max_attribute_length
    result = await writer_of(request)(
        lambda cursor: renormalizing.renormalize(cursor, tenant, since, conventions, max_length, dry_run=dry_run)
    )
    if result.changed and not dry_run:
        reader_of(request).metric_days.clear()  # the runs changed, their commits did not: kept days are stale
    return ORJSONResponse({**result.to_json(), "conventions": conventions.source})


def upkeep_defaults_of(request: Request) -> upkeep.Defaults:
    """The server's own upkeep schedule; Conflict when its database is not a lake."""
    defaults: upkeep.Defaults | None = request.app.state.upkeep_defaults
    if defaults is None:
        raise Conflict(upkeep.NOT_A_LAKE)
    return defaults


@needs(*ADMINS)
async def get_upkeep(request: Request) -> Response:
    """The lake's upkeep: its schedule (the lake's, or this server's default) and its last pass."""
    defaults = upkeep_defaults_of(request)
    found = await reader_of(request).read(upkeep.read)
    return ORJSONResponse(found.to_json(defaults))


def _setting(body: dict[str, Any], name: str) -> int | None:
    """A setting in a request body: absent, ``upkeep.KEEP``; else ``upkeep.checked``."""
    return upkeep.checked(name, body[name]) if name in body else upkeep.KEEP


@needs(*ADMINS)
async def post_upkeep(request: Request) -> Response:
    """Change the lake's upkeep schedule, for every process on it (a setting left out is kept; null
    returns it to each server's default)."""
    defaults = upkeep_defaults_of(request)
    body = await json_body(request)
    unknown = set(body) - {"every_seconds", "keep_snapshots_seconds"}
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(sorted(unknown))}")
    every, keep = _setting(body, "every_seconds"), _setting(body, "keep_snapshots_seconds")
    now = reader_of(request).clock()
    changed = await writer_of(request)(
        lambda cursor: upkeep.change(cursor, now, every_seconds=every, keep_snapshots_seconds=keep)
    )
    return ORJSONResponse(changed.to_json(defaults))


@needs(*ADMINS)
async def post_upkeep_run(request: Request) -> Response:
    """Run an upkeep pass now, due or not; the lake's upkeep once it ended (its error, if it failed)."""
    defaults = upkeep_defaults_of(request)
    run: Callable[[], Awaitable[upkeep.Upkeep]] | None = request.app.state.run_upkeep
    if run is None:
        raise InvalidRequest("this server does not accept writes (--no-ingest): ask a collector of the lake")
    return ORJSONResponse((await run()).to_json(defaults))
