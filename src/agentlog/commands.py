"""The read and maintenance commands: history, logs, sql, export, and ``executions ...``.

Each works whether or not a server is running: ``client.connect`` reaches the
server that holds the database, or opens the file. With no database named and
none in the current directory, a command that only reads reaches the one
server running on this machine; one that changes data (keys create and
revoke, executions cleanup, reprice, schedule-cleanup with options) does not,
and says which server it found. ``--json`` prints what the API returns, for
scripts.

Exit codes: 0 done; 1 the server or database failed; 2 bad arguments or a
request agentlog refused; 3 not found; 4 the database is held by another
process; 5 a missing, wrong or insufficient API key.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import typer
from rich.console import Console

from agentlog import console as views
from agentlog.client import Backend, DatabaseBusy, connect
from agentlog.errors import (
    AgentlogError,
    Conflict,
    ConventionsError,
    Forbidden,
    InvalidRequest,
    NotFound,
    Unauthenticated,
)
from agentlog.query import HistoryQuery, LogsQuery, MetricsQuery, SessionsQuery, StatsQuery, order_of
from agentlog.query.json_values import field_values, table_records
from agentlog.query.sql_console import DEFAULT_MAX_ROWS
from agentlog.query.timefmt import iso_utc, parse_time
from agentlog.settings import Settings

T = TypeVar("T")
out = Console()
err = Console(stderr=True)

EXIT_FAILED, EXIT_INVALID, EXIT_NOT_FOUND, EXIT_BUSY, EXIT_DENIED = 1, 2, 3, 4, 5

DbOption = Annotated[
    str | None, typer.Option("--db", help="DuckDB file. Env AGENTLOG_DB.", show_default="agentlog.duckdb")
]
UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="A running server's API (found by itself when omitted). Env AGENTLOG_URL."),
]
KeyOption = Annotated[
    str | None, typer.Option("--key", help="An API key, once the server has keys. Env AGENTLOG_API_KEY.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts instead of tables.")]
DaysOption = Annotated[int, typer.Option("--days", min=1, max=3650, help="Window: the last N days.")]

executions = typer.Typer(help="Manage recorded runs: cleanup, stats, metrics, cleanup schedule, repricing, "
                              "re-normalising.",
                         no_args_is_help=True)  # fmt: skip


@contextmanager
def _backend(db: str | None, url: str | None, key: str | None = None, *, changes: bool = False) -> Iterator[Backend]:
    """The backend for a command (``client.connect``); ``changes``: the command changes data, so
    it never acts on a server merely found running elsewhere on the machine."""
    settings = Settings.load({"db": db, "url": url, "api_key": key})
    # No database named: from any directory, a command that reads may use the one server running here.
    registry = None if settings.db_named else settings.runtime_dir
    try:
        backend = connect(
            settings.db,
            settings.url or None,
            settings.api_key or None,
            registry,
            changes=changes,
            data_path=settings.data_path or None,
        )
    except AgentlogError as error:
        _fail(error)
    try:
        yield backend
    except AgentlogError as error:
        _fail(error)
    finally:
        backend.close()


def _fail(error: AgentlogError) -> NoReturn:
    err.print(f"[red]agentlog:[/red] {error.message}", highlight=False)
    if isinstance(error, DatabaseBusy):
        raise typer.Exit(EXIT_BUSY)
    if isinstance(error, NotFound):
        raise typer.Exit(EXIT_NOT_FOUND)
    if isinstance(error, InvalidRequest | ConventionsError | Conflict):
        raise typer.Exit(EXIT_INVALID)
    if isinstance(error, Unauthenticated | Forbidden):
        raise typer.Exit(EXIT_DENIED)
    raise typer.Exit(EXIT_FAILED)


def _emit(value: Any, as_json: bool, render: Callable[[Any], Any]) -> None:
    if as_json:
        sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")
    else:
        out.print(render(value))


def _emit_page(items: list[Any], next_cursor: str | None, as_json: bool, render: Callable[[Any], Any]) -> None:
    """A page of a listing, then (not in JSON) how to ask for the next one."""
    _emit(items, as_json, render)
    if next_cursor and not as_json:
        err.print(f"more: --cursor {next_cursor}", style="dim")


def history(
    agent_id: Annotated[str | None, typer.Option(help="Only this agent's runs.")] = None,
    user_id: Annotated[str | None, typer.Option(help="Only this user's runs.")] = None,
    session_id: Annotated[str | None, typer.Option(help="Only this session's runs.")] = None,
    status: Annotated[str | None, typer.Option(help="running, success or failed.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Runs to show.")] = 20,
    cursor: Annotated[str | None, typer.Option(help="Continue from a previous page's cursor.")] = None,
    q: Annotated[
        str | None, typer.Option("--q", help="Only runs whose input or output holds this text (any case).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Only runs with a call of this model.")] = None,
    sort: Annotated[str | None, typer.Option(help="start, duration, tokens or cost.", show_default="start")] = None,
    order: Annotated[str | None, typer.Option(help="desc or asc.", show_default="desc")] = None,
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Runs, newest first (or by --sort)."""
    run_order = _or_fail(lambda: order_of(sort, order))
    query = HistoryQuery(agent_id=agent_id, user_id=user_id, session_id=session_id, status=status, limit=limit,
                         cursor=cursor, q=q or None, model=model, order=run_order)  # fmt: skip
    with _backend(db, url, key) as backend:
        runs, next_cursor = backend.history(query)
    _emit_page(runs, next_cursor, as_json, lambda value: views.history_table(value, out.width))


def sessions(
    agent_id: Annotated[str | None, typer.Option(help="Only sessions with a run of this agent.")] = None,
    user_id: Annotated[str | None, typer.Option(help="Only sessions with a run of this user.")] = None,
    q: Annotated[str | None, typer.Option("--q", help="Only sessions with a run holding this text.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="Sessions to show.")] = 20,
    cursor: Annotated[str | None, typer.Option(help="Continue from a previous page's cursor.")] = None,
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sessions (runs sharing a session id), the latest run start first."""
    query = SessionsQuery(agent_id=agent_id, user_id=user_id, q=q or None, limit=limit, cursor=cursor)
    with _backend(db, url, key) as backend:
        listed, next_cursor = backend.sessions(query)
    _emit_page(listed, next_cursor, as_json, lambda value: views.sessions_table(value, out.width))


def session(
    session_id: Annotated[str, typer.Argument(help="The session's id.")],
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """One session: its figures and its runs, oldest first."""
    with _backend(db, url, key) as backend:
        detail = backend.session(session_id)
    _emit(detail, as_json, lambda value: views.session_view(value, out.width))


def logs(
    run_id: Annotated[str, typer.Argument(help="The run (its trace id, 32 hex digits).")],
    limit: Annotated[int, typer.Option(min=1, max=2000, help="Nodes per page.")] = 500,
    cursor: Annotated[str | None, typer.Option(help="Continue from a previous page's cursor.")] = None,
    span: Annotated[
        str | None, typer.Option(help="Only this node (its span id), whole: input, output, attributes, events.")
    ] = None,
    outline: Annotated[
        bool, typer.Option("--outline", help="Nodes without input, output, attributes, events and log records.")
    ] = False,
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run's execution log: its nodes as a tree, errors and final output."""
    with _backend(db, url, key) as backend:
        result = backend.logs(LogsQuery(run_id=run_id, limit=limit, cursor=cursor, outline=outline, span_id=span))
    _emit(result, as_json, views.node_view if span else views.logs_view)


def sql(
    query: Annotated[
        str, typer.Argument(help="One SELECT over the views spans, nodes, runs, agents, log_records (and tables).")
    ],
    max_rows: Annotated[int, typer.Option(min=1, max=1_000_000, help="Most rows returned.")] = DEFAULT_MAX_ROWS,
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Read-only SQL over the database (no writes, no files)."""
    with _backend(db, url, key) as backend:
        table, truncated = backend.sql(query, max_rows)
    if as_json:
        sys.stdout.write(json.dumps({"rows": table_records(table), "truncated": truncated}, indent=2) + "\n")
    else:
        out.print(views.arrow_table(table, truncated))


def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    since: Annotated[str, typer.Option(help="Rows started at or after this ISO 8601 date/time.")] = "1970-01-01",
    table: Annotated[str, typer.Option(help="spans, nodes, runs or log_records.")] = "spans",
    fmt: Annotated[str, typer.Option("--format", help="parquet, csv or json (one object per line).")] = "parquet",
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Export a view's rows to Parquet, CSV or JSON lines."""
    if fmt not in ("parquet", "csv", "json"):
        _fail(InvalidRequest(f"--format must be parquet, csv or json; got {fmt!r}"))
    since_ns = _or_fail(lambda: parse_time(since, "--since"))
    with _backend(db, url, key) as backend, err.status(f"exporting {table}…"):
        arrow = backend.export(table, since_ns)
    _write(arrow, output, fmt)
    err.print(f"wrote {arrow.num_rows} {table} rows to {output}")


def _write(arrow: pa.Table, output: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(arrow, output)
    elif fmt == "csv":
        pa_csv.write_csv(_flat(arrow), output)
    else:
        with output.open("w") as handle:
            for row in table_records(arrow):
                handle.write(json.dumps(row) + "\n")


def _flat(arrow: pa.Table) -> pa.Table:
    """CSV holds no lists or structs: such columns become JSON text."""
    columns = [
        pa.array([None if v is None else json.dumps(v) for v in field_values(column, field)], pa.string())
        if pa.types.is_nested(column.type)
        else column
        for column, field in zip(arrow.columns, arrow.schema, strict=True)
    ]
    return pa.table(columns, names=arrow.column_names)


def _or_fail(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except AgentlogError as error:
        _fail(error)


@executions.command("cleanup")
def cleanup(
    days: Annotated[int, typer.Option(min=0, max=36_500, help="Delete runs that ended more than N days ago.")] = 30,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")] = False,
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Remove expired executions: whole runs only, never a running one."""
    with (
        _backend(db, url, key, changes=not dry_run) as backend,
        err.status("looking for expired runs…" if dry_run else "deleting expired runs…"),
    ):
        result = backend.cleanup(days, dry_run)
    verb = "would delete" if dry_run else "deleted"
    _emit(result, as_json, lambda r: f"{verb} {r['runs']} runs ({r['spans']} spans) that ended over {days} days ago")


@executions.command("stats")
def stats(
    user_id: Annotated[str | None, typer.Option(help="The user (all users when omitted).")] = None,
    agent_id: Annotated[str | None, typer.Option(help="Only this agent's runs.")] = None,
    days: DaysOption = 30,
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Execution statistics of a user: runs, success rate, durations, tokens, cost, per day."""
    with _backend(db, url, key) as backend:
        result = backend.stats(StatsQuery(user_id=user_id, agent_id=agent_id, days=days))
    _emit(result, as_json, views.stats_panel)


@executions.command("metrics")
def metrics(
    flow_id: Annotated[str | None, typer.Option(help="The agent (another name for --agent-id).")] = None,
    agent_id: Annotated[str | None, typer.Option(help="The agent (all agents when omitted).")] = None,
    days: DaysOption = 30,
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Agent performance: durations p50/p95/p99, error rate, tokens and cost; by node type, model, tool."""
    with _backend(db, url, key) as backend:
        result = backend.metrics(MetricsQuery(agent_id=agent_id or flow_id, days=days))
    _emit(result, as_json, views.metrics_view)


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_every(text: str) -> int:
    """``90s``, ``30m``, ``1h``, ``1d`` -> seconds."""
    match = _DURATION.match(text.lower())
    if not match:
        raise InvalidRequest(f"--every takes a duration like 30m, 1h or 1d; got {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@executions.command("schedule-cleanup")
def schedule_cleanup(
    every: Annotated[str | None, typer.Option(help="How often: 30m, 1h, 1d.")] = None,
    days: Annotated[int | None, typer.Option(min=0, max=36_500, help="Keep N days (0 turns cleanup off).")] = None,
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set (or, with no options, show) the background cleanup the server runs."""
    every_seconds = _or_fail(lambda: parse_every(every)) if every else None
    with _backend(db, url, key, changes=days is not None or every_seconds is not None) as backend:
        result = backend.schedule(days, every_seconds)
    _emit(result, as_json, lambda r: f"cleanup every {r['every_seconds']} s keeps {r['days']} days "
                                     f"(tenant {r['tenant_id']})")  # fmt: skip


@executions.command("reprice")
def reprice(
    since: Annotated[str, typer.Option(help="Spans started at or after this ISO 8601 date/time.")],
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute computed costs with the current price data (reported costs are never changed)."""
    with _backend(db, url, key, changes=True) as backend, err.status("repricing…"):
        result = backend.reprice(since)
    _emit(result, as_json, lambda r: f"checked {r['spans_checked']} spans, changed {r['spans_changed']}, "
                                     f"updated {r['runs_updated']} runs")  # fmt: skip


@executions.command("renormalize")
def renormalize(
    since: Annotated[
        str | None, typer.Option(help="Spans started at or after this ISO 8601 date/time (default: all).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would change; change nothing.")] = False,
    conventions: Annotated[
        str | None,
        typer.Option(help="On a database file: your conventions file (default: AGENTLOG_CONVENTIONS, else none)."),
    ] = None,
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Read stored spans again by your conventions (after changing them); a server uses its own."""
    with _backend(db, url, key, changes=not dry_run) as backend, err.status("re-normalising…"):
        result = backend.renormalize(since, dry_run, conventions)
    _emit(result, as_json, _renormalized)


def _renormalized(result: dict[str, Any]) -> str:
    verb = "would change" if result["dry_run"] else "changed"
    columns = ", ".join(f"{name} {count}" for name, count in result["columns_changed"].items()) or "none"
    return (
        f"checked {result['spans_checked']} spans by {result['conventions']} conventions: {verb} "
        f"{result['spans_changed']} spans of {result['runs_updated']} runs (columns: {columns}); "
        f"{result['running_runs_skipped']} running runs left alone"
    )


lake_app = typer.Typer(help="A DuckLake's own upkeep (docs/scale-out.md).", no_args_is_help=True)


def _upkeep_seconds(text: str, option: str, *, off: bool) -> int | None:
    """``default`` -> None (each server's own); ``0`` or ``off`` -> 0 when ``off`` allows it; else a
    duration such as 30m, 1h, 1d."""
    word = text.strip().lower()
    if word == "default":
        return None
    if off and word in ("0", "off"):
        return 0
    try:
        return parse_every(word)
    except InvalidRequest:
        zero = ", 0 (none scheduled)" if off else ""
        raise InvalidRequest(f"{option} takes a duration like 30m, 1h or 1d{zero}, or default; got {text!r}") from None


@lake_app.command("upkeep")
def lake_upkeep(
    every: Annotated[
        str | None, typer.Option(help="How often a pass runs: 10m, 1h; 0 for none; default for each server's.")
    ] = None,
    keep_snapshots: Annotated[
        str | None,
        typer.Option(help="Expire snapshots older than this, and delete dropped files this long after: 1h, 1d."),
    ] = None,
    now: Annotated[bool, typer.Option("--now", help="Run a pass now, and show how it went.")] = False,
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show (or change, or run now) the lake's upkeep: merging small files, expiring old snapshots,
    deleting files no longer needed. Every process on the lake follows it."""
    changes: dict[str, int | None] = {}
    if every is not None:
        changes["every_seconds"] = _or_fail(lambda: _upkeep_seconds(every, "--every", off=True))
    if keep_snapshots is not None:
        changes["keep_snapshots_seconds"] = _or_fail(
            lambda: _upkeep_seconds(keep_snapshots, "--keep-snapshots", off=False)
        )
    with _backend(db, url, key, changes=bool(changes) or now) as backend, err.status("running a pass…" if now else ""):
        result = backend.upkeep(changes, now)
    _emit(result, as_json, _upkeep_text)


def _seconds_text(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _upkeep_text(result: dict[str, Any]) -> str:
    def source(name: str) -> str:
        return "default" if name in result["defaults"] else "the lake's setting"

    every = result["every_seconds"]
    lines = [
        (f"upkeep every {_seconds_text(every)}" if every else "no scheduled upkeep") + f" ({source('every_seconds')}); "
        f"snapshots kept {_seconds_text(result['keep_snapshots_seconds'])} ({source('keep_snapshots_seconds')})"
    ]
    due = result["next_due_ms"]
    if due is not None:
        lines.append(f"next pass: {'due now' if due == 0 else iso_utc(due * 1_000_000)}")
    last = result["last"]
    if last is None:
        lines.append("no pass has run yet")
    elif last["finished_ms"] is None:
        lines.append(f"a pass is running since {iso_utc(last['started_ms'] * 1_000_000)} ({last['by']})")
    else:
        head = (
            f"last pass: {iso_utc(last['started_ms'] * 1_000_000)}, {last['duration_ms'] / 1000:.1f} s ({last['by']})"
        )
        if last["error"]:
            lines.append(f"{head}, failed: {last['error']}")
        else:
            lines.append(
                f"{head}: {last['rows_flushed']} rows flushed to files, {last['files_merged']} files merged into "
                f"{last['files_written']}, {last['snapshots_expired']} snapshots expired, {last['files_deleted']} "
                f"files deleted ({last['orphans_deleted']} never committed)"
            )
    return "\n".join(lines)


keys_app = typer.Typer(
    help="API keys: a tenant, a role (ingest, read, admin) and maybe a user each.", no_args_is_help=True
)


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option(help="The tenant the key acts in.")],
    role: Annotated[str, typer.Option(help="ingest (send spans), read (history and logs) or admin.")],
    user: Annotated[str | None, typer.Option(help="Bind a read key to one user: it sees only their runs.")] = None,
    label: Annotated[str | None, typer.Option(help="A note to recognise the key by.")] = None,
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a key. It is shown once: store it now."""
    with _backend(db, url, key, changes=True) as backend:
        created = backend.create_key(tenant, role, user, label)
    _emit(created, as_json, lambda c: f"{c['key']}\n(key {c['key_id']}: tenant {c['tenant_id']}, role {c['role']}"
                                      f"{', user ' + c['user_id'] if c['user_id'] else ''}; shown once)")  # fmt: skip


@keys_app.command("list")
def keys_list(db: DbOption = None, url: UrlOption = None, key: KeyOption = None, as_json: JsonOption = False) -> None:
    """List keys (never their secrets)."""
    with _backend(db, url, key) as backend:
        listed = backend.list_keys()
    _emit(listed, as_json, views.keys_table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from keys list).")],
    db: DbOption = None,
    url: UrlOption = None,
    key: KeyOption = None,
) -> None:
    """Revoke a key: it stops working at once."""
    with _backend(db, url, key, changes=True) as backend:
        backend.revoke_key(key_id)
    err.print(f"revoked {key_id}")


def register(app: typer.Typer) -> None:
    """Add these commands to the ``agentlog`` app."""
    app.add_typer(keys_app, name="keys")
    app.command()(history)
    app.command()(sessions)
    app.command()(session)
    app.command()(logs)
    app.command()(sql)
    app.command()(export)
    app.add_typer(executions, name="executions")
    app.add_typer(lake_app, name="lake")
