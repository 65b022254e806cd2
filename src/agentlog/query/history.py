"""Execution history: runs newest first (or in another order: run_order.py), filtered and paged."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agentlog.errors import InvalidRequest
from agentlog.proto.ids import trace_id_hex
from agentlog.query.filtered import execute_filtered, filtered_sql
from agentlog.query.pages import decode_cursor, one_page
from agentlog.query.rows import dicts
from agentlog.query.run_order import DEFAULT_ORDER, RunOrder, made_for, sorted_page
from agentlog.query.scope import Scope
from agentlog.query.statements import read_sql
from agentlog.query.timefmt import human_duration, iso_utc
from agentlog.store.rollups import reads_for

HISTORY_NEWEST_SQL = read_sql("history_newest.sql")


def history_sql(name: str, given: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """``name`` (history.sql, history_bound.sql, history_sorted.sql) with the lines of
    history_filter.sql whose parameters are all ``given``; and the parameters it names, to bind."""
    return filtered_sql(name, "history_filter.sql", given)


def _execute(cursor: Any, name: str, params: dict[str, Any], reads: Callable[[str], str]) -> Any:
    return execute_filtered(cursor, name, "history_filter.sql", params, reads)


FIRST_WINDOW_NS = 3600 * 10**9
"""History looks for a page among the runs of the last hour first, then 8x wider each time."""
WINDOW_GROWTH = 8
SELECTIVE_FILTERS = ("user_scope", "agent", "user", "session", "status", "model", "q")
"""Filters that can leave the newest hour without a page's worth of runs."""
STATUSES = ("running", "success", "failed")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_SKIP = 100_000
PREVIEW_CHARS = 200
"""History shows input and output shortened to this many characters; logs show them in full."""


@dataclass(frozen=True)
class HistoryQuery:
    """What to list. ``None`` means no filter."""

    agent_id: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    status: str | None = None
    since_ns: int | None = None
    until_ns: int | None = None
    skip: int = 0
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    q: str | None = None
    """Text to find, case-insensitively, in a run's whole input or output."""
    model: str | None = None
    """Runs with a model call of this model."""
    order: RunOrder = DEFAULT_ORDER


@dataclass(frozen=True)
class HistoryPage:
    runs: list[dict[str, Any]]
    next_cursor: str | None


def list_runs(cursor: Any, scope: Scope, query: HistoryQuery, now_ns: int) -> HistoryPage:
    """One page of runs; ``next_cursor`` is None on the last page. ``now_ns``: where the newest
    runs are expected when the store cannot say (runs started later are still listed).

    Newest first (the default order) reads a growing window of recent starts
    (``_page``): ~10 ms a page on 1,000,000 runs. ``q`` and ``model`` are
    filters like the others there: the window widens until it holds a page, so
    a rare text or model reads further back, up to every run of the tenant (q
    reads the texts of each run it passes: ~0.75 s a scan of 1,000,000 runs on
    one core). Any other order (``query.order``, run_order.py) has no window:
    it reads the sort key of every run the filters keep (60-170 ms on
    1,000,000 runs on one core), then the page's rows from wherever they are
    stored (~300 ms for 50 runs spread over the whole store); ``since`` and
    ``until`` narrow both."""
    if query.status is not None and query.status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}; got {query.status!r}")
    position = None if query.cursor is None else decode_cursor(query.cursor, "history")
    if position is not None and made_for(position) != query.order:
        raise InvalidRequest(
            f"cursor was made for sort={made_for(position).sort}&order={made_for(position).direction}, not "
            f"sort={query.order.sort}&order={query.order.direction}: pass the same sort and order as the page "
            "it came from, or start again without a cursor"
        )
    params = _filters(scope, query)
    if query.order != DEFAULT_ORDER:
        rows, next_cursor = sorted_page(cursor, params, query.order, position, query.limit)
        return HistoryPage([run_item(row) for row in rows], next_cursor)
    after_ns = after_trace = None
    if position is not None:
        after_ns, after_trace = _history_position(position)
    params = {
        **params,
        "after_ns": after_ns,
        "after_trace": None if after_trace is None else trace_id_hex(after_trace),
    }
    rows, next_cursor = one_page(
        _page(cursor, params, now_ns),
        query.limit,
        "history",
        lambda last: {"s": last["started_ns"], "t": last["run_id"]},
    )
    return HistoryPage([run_item(row) for row in rows], next_cursor)


def _filters(scope: Scope, query: HistoryQuery) -> dict[str, Any]:
    """The statements' parameters for ``query``'s filters and page size (None: no such filter)."""
    return {
        "tenant": scope.tenant_id,
        "user_scope": scope.user_id,
        "agent": query.agent_id,
        "user": query.user_id,
        "session": query.session_id,
        "status": query.status,
        "since": query.since_ns,
        "until": query.until_ns,
        "model": query.model,
        "q": None if query.q is None else query.q.lower(),
        "limit": query.limit + 1,  # one more tells whether there is a next page
        "skip": query.skip,
    }


def _page(cursor: Any, params: dict[str, Any], now_ns: int) -> list[dict[str, Any]]:
    """The page's runs, newest first.

    Runs are stored roughly in the order they start, so a window of recent start
    times is a few row groups to DuckDB. The window starts from the latest run's
    start (history_newest.sql) and has no upper bound but the cursor's and
    ``until``. It widens until it holds the whole page (then no run outside it
    can belong to the page) or covers all time, on narrow columns only
    (history_bound.sql); then one statement reads the page from its oldest start
    on. Where the window starts only decides how many windows a page takes, not
    which runs it shows.

    Unfiltered, the newest runs are dense and the first window nearly always
    holds the page: that window is read at once, one statement instead of two."""
    reads = reads_for(cursor, params["tenant"])
    newest = None
    if params["after_ns"] is None and params["until"] is None:
        newest = cursor.execute(HISTORY_NEWEST_SQL).fetchone()[0]
        if newest is None:
            return []  # no run at all
    top = min(
        value
        for value in (now_ns if newest is None else newest + 1, params["after_ns"], params["until"])
        if value is not None
    )
    floor = params["since"] or 0
    starts = windows(top, floor)
    if not any(params[name] is not None for name in SELECTIVE_FILTERS):
        from_ns = next(starts)
        rows = dicts(_execute(cursor, "history.sql", {**params, "from_ns": from_ns}, reads))
        if len(rows) >= params["limit"] or from_ns <= floor:
            return rows
    found, oldest = 0, None
    for from_ns in starts:
        found, oldest = _execute(cursor, "history_bound.sql", {**params, "from_ns": from_ns}, reads).fetchone()
        if found >= params["limit"]:
            break
    return dicts(_execute(cursor, "history.sql", {**params, "from_ns": oldest}, reads)) if found else []


def windows(top: int, floor: int) -> Iterator[int]:
    """Where each window below ``top`` starts: an hour, then 8x wider, the last at ``floor``."""
    window = FIRST_WINDOW_NS
    while (from_ns := max(top - window, floor, 0)) > floor:
        yield from_ns
        window *= WINDOW_GROWTH
    yield from_ns


def _history_position(position: dict[str, Any]) -> tuple[int, int]:
    started, run_id = position.get("s"), position.get("t")
    if not isinstance(started, int) or not isinstance(run_id, str):
        raise InvalidRequest("cursor is not valid for this listing")
    try:
        return started, int(run_id, 16)
    except ValueError:
        raise InvalidRequest("cursor is not valid for this listing") from None


def run_item(row: dict[str, Any], *, whole: bool = False) -> dict[str, Any]:
    """A run as the history endpoint shows it: the documented fields first, then the rest.
    Input and output shortened to PREVIEW_CHARS (``whole``: as they are)."""
    duration_ms = _duration_ms(row)
    shown = _as_is if whole else preview
    return {
        "run_id": row["run_id"],
        "status": row["status"],
        "started_at": iso_utc(row["started_ns"]),
        "duration": human_duration(duration_ms),
        "input": shown(row["input"]),
        "output": shown(row["output"]),
        "node_count": row["node_count"],
        "tokens_used": row["total_tokens"],
        "cost_cents": cents(row["cost_usd"]),
        "agent_id": row["agent"],
        "user_id": row["user_id"],
        "session_id": row["session_id"],
        "ended_at": iso_utc(row["ended_ns"]),
        "duration_ms": duration_ms,
        "cost_usd": usd(row["cost_usd"]),
        "cost_source": row["cost_source"],
        "tokens": tokens(row),
        "models": row["models"],
        "successful_nodes": row["successful_nodes"],
        "failed_nodes": row["failed_nodes"],
        "error": error(row),
    }


def _duration_ms(row: dict[str, Any]) -> float | None:
    if row["ended_ns"] is None:
        return None
    return float(row["ended_ns"] - row["started_ns"]) / 1_000_000


def preview(text: str | None) -> str | None:
    if text is None or len(text) <= PREVIEW_CHARS:
        return text
    return text[:PREVIEW_CHARS] + "…"


def _as_is(text: str | None) -> str | None:
    return text


def cents(usd_amount: Decimal | None) -> float | None:
    return None if usd_amount is None else float(usd_amount * 100)


def usd(usd_amount: Decimal | None) -> float | None:
    return None if usd_amount is None else float(usd_amount)


def tokens(row: dict[str, Any]) -> dict[str, int | None]:
    return {
        "input": row["input_tokens"],
        "output": row["output_tokens"],
        "cache_read": row["cache_read_tokens"],
        "cache_write": row["cache_write_tokens"],
        "reasoning": row["reasoning_tokens"],
        "total": row["total_tokens"],
    }


def error(row: dict[str, Any]) -> dict[str, Any] | None:
    if row["error_type"] is None and row["error_message"] is None:
        return None
    return {"node": row["error_node"], "type": row["error_type"], "message": row["error_message"]}
