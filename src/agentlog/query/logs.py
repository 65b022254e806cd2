"""Execution logs: one run's nodes in tree order, page by page, with its errors and summary.

Each node also carries the OTLP log records of its span (``node_logs``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson

from agentlog.errors import InvalidRequest, NotFound
from agentlog.proto.ids import InvalidId, parse_span_id_hex, parse_trace_id_hex, trace_id_hex
from agentlog.query.history import run_item
from agentlog.query.node_logs import node_log_records, with_log_records
from agentlog.query.pages import decode_cursor, encode_cursor
from agentlog.query.rows import fetch_dicts
from agentlog.query.scope import Scope
from agentlog.query.statements import fill, read_sql
from agentlog.query.timefmt import human_duration, iso_utc
from agentlog.store.rollups import for_tenant

RUN_SQL = read_sql("run.sql")


def _nodes_sql(column: str | None, *, page: bool) -> dict[bool, str]:
    """run_nodes.sql with each node's ``column`` (``document``, its ``outline``, or None: the tree's shape
    alone), for a page's nodes or the whole run; by whether it reads the live-status markers' documents too
    (True) or the stored spans' alone."""
    return {
        markers: fill(
            "run_nodes.sql",
            {
                "document": f", {column}" if column else "",
                "documents": "node_documents" if markers else "span_documents",
                "page": read_sql("run_page.sql") if page else "",
            },
        )
        for markers in (True, False)
    }


SKELETON_SQL = _nodes_sql(None, page=False)
NODES_SQL = {column: _nodes_sql(column, page=False) for column in ("document", "outline")}
PAGE_NODES_SQL = {column: _nodes_sql(column, page=True) for column in ("document", "outline")}

DEFAULT_LIMIT = 500
MAX_LIMIT = 2000
WHOLE_RUN_NODES = MAX_LIMIT
"""A run of up to this many nodes is read whole, whatever the page: one statement, which on a
1,000-node run is faster than its shape and then the page's documents, even for 10 of them."""
MAX_ERRORS = 100
"""Errors listed per run: the first ones tell the story; the count is always exact."""


@dataclass(frozen=True)
class LogsQuery:
    """``outline``: nodes without input, output, attributes, events and log records (a waterfall's rows).
    ``span_id``: that node alone, whole (with the run's summary and errors as ever)."""

    run_id: str
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    outline: bool = False
    span_id: str | None = None


@dataclass(frozen=True)
class _Node:
    span_id: int
    parent: int | None
    start: int
    running: bool


MIN_PREFIX = 8
"""Shortest run id prefix accepted (as git takes short commit ids)."""

PREFIX_SQL = """
SELECT trace_id FROM run_rollups
WHERE tenant_id = $tenant AND trace_id BETWEEN $low::UUID AND $high::UUID
  AND ($user_scope IS NULL OR "user".id = $user_scope)
LIMIT 2
"""
"""The runs a prefix may name: confined by tenant and user exactly as run.sql confines a full id, so a
user-bound key cannot tell another user's run from no run, nor count it among "several"."""


def parse_run_id(run_id: str) -> int:
    """A run id as the trace id integer; InvalidRequest for anything that cannot be one."""
    try:
        return parse_trace_id_hex(run_id.strip().lower())
    except InvalidId:
        raise InvalidRequest(f"run_id must be 32 hexadecimal digits (a trace id), got {run_id!r}") from None


def resolve_run_id(cursor: Any, scope: Scope, run_id: str) -> int:
    """A full run id, or a prefix of at least ``MIN_PREFIX`` hex digits unique among the runs ``scope``
    may see, as the trace id."""
    text = run_id.strip().lower()
    if len(text) == 32 or not (MIN_PREFIX <= len(text) < 32 and all(c in "0123456789abcdef" for c in text)):
        return parse_run_id(text)
    shift = 4 * (32 - len(text))
    low = int(text, 16) << shift
    found = cursor.execute(
        for_tenant(cursor, scope.tenant_id, PREFIX_SQL),
        {
            "tenant": scope.tenant_id,
            "low": trace_id_hex(low),
            "high": trace_id_hex(low + (1 << shift) - 1),
            "user_scope": scope.user_id,
        },
    ).fetchall()
    if not found:
        raise NotFound(f"no run with run_id starting {text!r}")
    if len(found) > 1:
        raise InvalidRequest(f"run_id prefix {text!r} matches several runs: give more digits")
    return int(found[0][0].int)  # the UUID's integer


def run_logs(cursor: Any, scope: Scope, query: LogsQuery) -> dict[str, Any]:
    """The logs of one run; NotFound if it does not exist for ``scope``.

    Its nodes come as ``orjson.Fragment`` documents (the JSON DuckDB made, see
    ``node_document``): ``orjson.dumps`` writes them out as they are;
    ``as_values`` turns the whole result into plain Python values.
    """
    trace = resolve_run_id(cursor, scope, query.run_id)
    offset = _offset(query.cursor)
    run = _run(cursor, scope, trace, query.run_id)
    where = {
        "tenant": scope.tenant_id,
        "trace": trace_id_hex(trace),
        "first_seq": run["first_seq"],
        "last_seq": run["commit_seq"],
    }
    column = "outline" if query.outline else "document"
    whole = run["node_count"] <= WHOLE_RUN_NODES and query.span_id is None
    markers = run["markers"] > 0
    rows = _without_stale_markers(
        cursor.execute((NODES_SQL[column] if whole else SKELETON_SQL)[markers], where).fetchall()
    )
    skeleton, errors = _skeleton(rows)
    order = tree_order(skeleton, run["root_span_id"] or _announced_root(skeleton))
    page = order[offset : offset + query.limit] if query.span_id is None else _one_node(order, query, run["run_id"])
    documents = _documents(rows if whole else _page_rows(cursor, PAGE_NODES_SQL[column][markers], where, page))
    # A page's node can be missing only if retention deleted its run between the two statements.
    page = [(node, depth) for node, depth in page if node.span_id in documents]
    if query.outline:
        nodes = [orjson.Fragment(node_document(documents[node.span_id], depth, events=False)) for node, depth in page]
    else:
        records = node_log_records(cursor, scope.tenant_id, trace, [node.span_id for node, _ in page])
        nodes = []
        for node, depth in page:
            document = node_document(documents[node.span_id], depth)
            nodes.append(orjson.Fragment(with_log_records(document, records.get(node.span_id, []))))
    running = sum(1 for node, _ in order if node.running)
    next_offset = offset + query.limit
    summary_item = run_item(run)
    return {
        "run_id": run["run_id"],
        "status": run["status"],
        "agent_id": run["agent"],
        "nodes": nodes,
        "errors": errors,
        "final_output": run["output"],
        "summary": {
            "total_nodes": len(order),
            "successful_nodes": run["successful_nodes"],
            "failed_nodes": run["failed_nodes"],
            "running_nodes": running,
            "total_duration": summary_item["duration"],
            "duration_ms": summary_item["duration_ms"],
            "tokens": summary_item["tokens"],
            "cost_cents": summary_item["cost_cents"],
            "cost_usd": summary_item["cost_usd"],
            "cost_source": summary_item["cost_source"],
        },
        "run": summary_item,
        "next_cursor": encode_cursor("logs", {"o": next_offset, "r": run["run_id"]})
        if next_offset < len(order) and query.span_id is None
        else None,
    }


def as_values(logs: dict[str, Any]) -> dict[str, Any]:
    """``run_logs``' result with its node documents decoded: for callers in Python rather than HTTP."""
    values: dict[str, Any] = orjson.loads(orjson.dumps(logs))
    return values


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    offset = decode_cursor(cursor, "logs").get("o")
    if not isinstance(offset, int) or offset < 0:
        raise InvalidRequest("cursor is not valid for this listing")
    return offset


def _one_node(order: list[tuple[_Node, int]], query: LogsQuery, run_id: str) -> list[tuple[_Node, int]]:
    """The node ``query.span_id`` names, with its depth; NotFound if it is not one of the run's nodes."""
    assert query.span_id is not None
    try:
        span_id = parse_span_id_hex(query.span_id.strip().lower())
    except InvalidId:
        raise InvalidRequest(f"span_id must be 16 hexadecimal digits, got {query.span_id!r}") from None
    found = [(node, depth) for node, depth in order if node.span_id == span_id]
    if not found:
        raise NotFound(f"run {run_id} has no node with span_id {query.span_id!r}")
    return found


def _run(cursor: Any, scope: Scope, trace: int, run_id: str) -> dict[str, Any]:
    sql = for_tenant(cursor, scope.tenant_id, RUN_SQL)
    params = {"tenant": scope.tenant_id, "trace": trace_id_hex(trace), "user_scope": scope.user_id}
    rows = fetch_dicts(cursor, sql, params)
    if not rows:
        raise NotFound(f"no run with run_id {run_id!r}")
    return rows[0]


def _without_stale_markers(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """run_nodes.sql's rows less the live-status markers whose span is stored too: a marker
    that arrived late is stale, and the span wins."""
    stored = {row[0] for row in rows if not row[3]}
    return [row for row in rows if not (row[3] and row[0] in stored)]


def _skeleton(rows: list[tuple[Any, ...]]) -> tuple[list[_Node], list[dict[str, Any]]]:
    """The run's nodes, and its first MAX_ERRORS failed spans in the order they failed."""
    nodes = [_Node(*row[:4]) for row in rows]
    failed = sorted((row for row in rows if row[4]), key=lambda row: (row[8], row[0]))[:MAX_ERRORS]
    errors = [
        {"node": name, "span_id": f"{span_id:016x}", "type": kind, "message": message, "time": iso_utc(ended)}
        for span_id, _, _, _, _, name, kind, message, ended, *_ in failed
    ]
    return nodes, errors


def _announced_root(nodes: list[_Node]) -> int | None:
    """While the root span has not arrived, its live-status marker stands for it (never a node)."""
    markers = [node for node in nodes if node.running and node.parent is None]
    return min(markers, key=lambda node: (node.start, node.span_id)).span_id if markers else None


def tree_order(nodes: list[_Node], root_span_id: int | None) -> list[tuple[_Node, int]]:
    """Nodes depth-first, siblings by start time, with depth (the root's children are 1).

    The root itself is the run, not a node. Spans whose parent has not arrived
    (or any other parentless span) hang under the root, so nothing is hidden.
    """
    ids = {node.span_id for node in nodes}
    children: dict[int | None, list[_Node]] = defaultdict(list)
    for node in nodes:
        if node.span_id == root_span_id:
            continue
        parent = node.parent if node.parent in ids and node.parent != node.span_id else root_span_id
        children[parent].append(node)
    for siblings in children.values():
        siblings.sort(key=lambda node: (node.start, node.span_id))
    order: list[tuple[_Node, int]] = []
    stack = [(node, 1) for node in reversed(children.get(root_span_id, []))]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if node.span_id in seen:  # a cycle in broken input: show each span once
            continue
        seen.add(node.span_id)
        order.append((node, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(node.span_id, [])))
    # Anything unreachable (a cycle detached from the root) still gets listed.
    order.extend((node, 1) for node in sorted(nodes, key=lambda n: (n.start, n.span_id))
                 if node.span_id not in seen and node.span_id != root_span_id)  # fmt: skip
    return order


def _page_rows(cursor: Any, sql: str, where: dict[str, Any], page: list[tuple[_Node, int]]) -> list[tuple[Any, ...]]:
    if not page:
        return []
    ids = ",".join(str(node.span_id) for node, _ in page)
    return _without_stale_markers(cursor.execute(sql, {**where, "ids": ids}).fetchall())


_Document = tuple[bool, int, int | None, str | None, str]
"""running, start and end times, events (JSON text), document (JSON text)."""


def _documents(rows: list[tuple[Any, ...]]) -> dict[int, _Document]:
    """Each span's document by span id."""
    return {row[0]: (row[3], row[2], row[8], row[9], row[10]) for row in rows}


def node_document(document: _Document, depth: int | None, *, events: bool = True) -> bytes:
    """One node as JSON: the documented id, type, input, output, time and status, and the rest.

    DuckDB wrote most of it (store/views/node_documents.sql); what is added
    here is what depends on the tree (``depth``; None where the tree is not
    known, as in live events) and the times, formatted as everywhere else;
    and the node's ``events`` unless ``events`` is False (an outline).
    """
    running, start, end, events_json, text = document
    if end is not None:
        end = max(end, start)  # no node ends before it starts (store/views/times.sql), whatever was stored
    duration_ms = None if running or end is None else (end - start) / 1_000_000
    fields: dict[str, Any] = {
        "time": None if duration_ms is None else human_duration(duration_ms),
        "depth": depth,
        "started_at": iso_utc(start),
        "ended_at": None if running else iso_utc(end),
        "duration_ms": duration_ms,
    }
    if events:
        fields["events"] = _events(events_json)
    added = orjson.dumps(fields)
    # Two JSON objects' texts made one: DuckDB's without its closing brace, ours without its opening one.
    return text[:-1].encode() + b"," + added[1:]


def _events(events_json: str | None) -> list[dict[str, Any]]:
    if not events_json:
        return []
    events: list[dict[str, Any]] = orjson.loads(events_json)
    for event in events:
        event["time"] = iso_utc(event.pop("time_unix_nano", None))
    return events
