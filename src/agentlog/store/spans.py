"""Inserting span rows: one vectorised, idempotent INSERT per group of requests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from agentlog.proto import SpanBatch

_U64_MASK = (1 << 64) - 1

# Arrow has no 128-bit unsigned integer: the trace id travels as two halves and
# is put back together by the INSERT.
ARROW_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("trace_id_hi", pa.uint64()),
        ("trace_id_lo", pa.uint64()),
        ("span_id", pa.uint64()),
        ("parent_span_id", pa.uint64()),
        ("trace_state", pa.string()),
        ("flags", pa.uint32()),
        ("name", pa.string()),
        ("kind", pa.uint8()),
        ("start_time_unix_nano", pa.uint64()),
        ("end_time_unix_nano", pa.uint64()),
        ("status_code", pa.uint8()),
        ("status_message", pa.string()),
        ("service_name", pa.string()),
        ("resource_attributes", pa.string()),
        ("scope_name", pa.string()),
        ("scope_version", pa.string()),
        ("attributes", pa.string()),
        ("events", pa.string()),
        ("links", pa.string()),
        ("dropped_attributes_count", pa.uint32()),
        ("dropped_events_count", pa.uint32()),
        ("dropped_links_count", pa.uint32()),
    ]
)

# OR IGNORE: a span already stored (a client's retry) is skipped, never doubled.
INSERT_SPANS = """
INSERT OR IGNORE INTO spans
SELECT
    tenant_id,
    (trace_id_hi::UHUGEINT << 64) | trace_id_lo,
    span_id, parent_span_id, trace_state, flags, name, kind,
    start_time_unix_nano, end_time_unix_nano, status_code, status_message,
    service_name, resource_attributes, scope_name, scope_version,
    attributes, events, links,
    dropped_attributes_count, dropped_events_count, dropped_links_count
FROM span_batch
"""


def to_arrow(batch: SpanBatch, tenant_id: str) -> pa.Table:
    """One request's spans as an Arrow table in ``ARROW_SCHEMA``."""
    n = len(batch)
    columns = {
        "tenant_id": [tenant_id] * n,
        "trace_id_hi": [trace_id >> 64 for trace_id in batch.trace_id],
        "trace_id_lo": [trace_id & _U64_MASK for trace_id in batch.trace_id],
    }
    for field in ARROW_SCHEMA.names[3:]:
        columns[field] = getattr(batch, field)
    return pa.Table.from_pydict(columns, schema=ARROW_SCHEMA)


def insert_spans(cursor: Any, tables: Sequence[pa.Table]) -> None:
    """Insert the spans of ``tables`` in the caller's transaction; duplicates are skipped."""
    span_batch = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    cursor.register("span_batch", span_batch)
    try:
        cursor.execute(INSERT_SPANS)
    finally:
        cursor.unregister("span_batch")
