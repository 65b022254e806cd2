"""History in another order than newest first: by start, duration, tokens or cost, either way.

The page is found in two statements: history_sorted.sql orders the sort keys
of every run the filters keep (narrow columns only) and picks the page's runs;
history_rows.sql then reads those runs' rows. The cursor holds the last run's
key and id, and the order it was made for: a cursor handed to another order
would skip or repeat runs, so it is refused.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agentlog.errors import InvalidRequest
from agentlog.query.filtered import execute_filtered
from agentlog.query.pages import one_page
from agentlog.query.rows import dicts
from agentlog.query.statements import read_sql
from agentlog.store.rollups import reads_for

SORTS = ("start", "duration", "tokens", "cost")
DIRECTIONS = ("desc", "asc")
_KEY = re.compile(r"-?[0-9]{1,26}(\.[0-9]{1,12})?")
"""A DECIMAL(38, 12) as the cursor writes it."""
_RUN_ID = re.compile(r"[0-9a-f]{32}")
HISTORY_ROWS = read_sql("history_rows.sql")


@dataclass(frozen=True)
class RunOrder:
    """How a history page is ordered: ``sort`` (one of SORTS), ``direction`` (desc or asc)."""

    sort: str = "start"
    direction: str = "desc"


DEFAULT_ORDER = RunOrder()
"""Newest first: the order history.py reads by time windows."""


def order_of(sort: str | None, direction: str | None) -> RunOrder:
    """The order ``sort`` and ``direction`` name (None: the default's); InvalidRequest naming the allowed values."""
    order = RunOrder(sort or DEFAULT_ORDER.sort, direction or DEFAULT_ORDER.direction)
    if order.sort not in SORTS:
        raise InvalidRequest(f"sort must be one of {', '.join(SORTS)}; got {order.sort!r}")
    if order.direction not in DIRECTIONS:
        raise InvalidRequest(f"order must be one of {', '.join(DIRECTIONS)}; got {order.direction!r}")
    return order


def made_for(position: dict[str, Any]) -> RunOrder:
    """The order a history cursor's ``position`` was made for (one without any: newest first)."""
    sort, direction = position.get("o", DEFAULT_ORDER.sort), position.get("d", DEFAULT_ORDER.direction)
    if sort not in SORTS or direction not in DIRECTIONS:
        raise InvalidRequest("cursor is not valid for this listing")
    return RunOrder(sort, direction)


def sorted_page(
    cursor: Any, params: dict[str, Any], order: RunOrder, position: dict[str, Any] | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """The rows of a page of runs in ``order`` after ``position`` (a cursor's; None: the first page),
    filtered by ``params`` (history.py's, whose ``limit`` is one more than the page's), and the next
    page's cursor (None on the last page)."""
    reads = reads_for(cursor, params["tenant"])
    descending = order.direction == "desc"
    stage = {**params, "sort": order.sort, "descending": descending, **_after(position, descending)}
    chosen = execute_filtered(cursor, "history_sorted.sql", "history_filter.sql", stage, reads).fetchall()

    def position_of(last: tuple[Any, ...]) -> dict[str, Any]:
        trace_id, _, key = last
        value = None if key is None else format(key, "f")
        return {"o": order.sort, "d": order.direction, "v": value, "t": trace_id.hex}

    page, next_cursor = one_page(chosen, limit, "history", position_of)
    return _rows(cursor, params["tenant"], page, reads), next_cursor


def _after(position: dict[str, Any] | None, descending: bool) -> dict[str, str | None]:
    """history_sorted.sql's keyset parameters for the run a cursor's ``position`` names."""
    if position is None:
        return {"after_key": None, "after_trace": None, "after_ordered_key": None}
    key, run_id = position.get("v"), position.get("t")
    if not (key is None or (isinstance(key, str) and _KEY.fullmatch(key))):
        raise InvalidRequest("cursor is not valid for this listing")
    if not (isinstance(run_id, str) and _RUN_ID.fullmatch(run_id)):
        raise InvalidRequest("cursor is not valid for this listing")
    return {
        "after_key": key,
        "after_trace": run_id,
        "after_ordered_key": None if key is None else format(-Decimal(key) if descending else Decimal(key), "f"),
    }


def _rows(cursor: Any, tenant: str, page: list[tuple[Any, ...]], reads: Any) -> list[dict[str, Any]]:
    """The rows of ``page``'s runs (trace id, start, key), in its order."""
    if not page:
        return []
    params: dict[str, Any] = {"tenant": tenant}
    for i, (trace_id, started_ns, _) in enumerate(page):
        params[f"s{i}"], params[f"t{i}"] = started_ns, trace_id
    found = {row["run_key"]: row for row in dicts(cursor.execute(reads(_rows_sql(len(page))), params))}
    return [found[trace_id] for trace_id, _, _ in page if trace_id in found]


@functools.cache
def _rows_sql(count: int) -> str:
    starts = ", ".join(f"$s{i}::UBIGINT" for i in range(count))
    traces = ", ".join(f"$t{i}::UUID" for i in range(count))
    return HISTORY_ROWS.replace("{starts}", starts).replace("{traces}", traces)
