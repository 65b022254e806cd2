"""Inserting log record rows (``proto.LOG_ROWS``), each once, in the caller's transaction.

A record is stored once per (tenant, record_hash): the digest of its content
(``agentlog.proto.logs``). As for spans there is no index; the writer drops
duplicates before the insert. A duplicate has the same content, so the same
effective time: the stored rows to compare with are those whose
``effective_time_unix_nano`` falls between the batch's earliest and latest,
and zone maps skip every other row group (records are appended roughly in
time order). Records with no time at all (0) are looked for apart, so that
one of them does not stretch the range to the whole table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from agentlog.store import write_lock
from agentlog.store.spans import insert_spans, last_commit_seq
from agentlog.store.transactions import transaction

_HASH = "record_hash::UUID"  # the batch's 16 bytes (proto.ids.TRACE_ID_TYPE) as stored

# The batch's keys, copied into DuckDB once: joins must not read the Arrow table itself (DuckDB pushes
# join filters into Arrow scans as Python ints, which overflow above 2**63; see store/spans.py).
LOG_KEYS = f"""
CREATE OR REPLACE TEMP TABLE log_keys AS
SELECT "row", tenant_id, {_HASH} AS record_hash, effective_time_unix_nano
FROM log_batch
"""

# Records repeated inside the batch (a retry queued behind its original): all but the first.
REPEATED_ROWS = """
SELECT "row"
FROM log_keys
QUALIFY row_number() OVER (PARTITION BY tenant_id, record_hash ORDER BY "row") > 1
"""

# Records of the batch stored before, among the stored rows with times from $low to $high.
STORED_DUPLICATES = """
SELECT k."row"
FROM log_keys k
SEMI JOIN (
    SELECT tenant_id, record_hash FROM stored_log_records
    WHERE effective_time_unix_nano BETWEEN $low AND $high
) s ON s.tenant_id = k.tenant_id AND s.record_hash = k.record_hash
WHERE k.effective_time_unix_nano BETWEEN $low AND $high
"""

INSERT_LOG_RECORDS = f"""
INSERT INTO stored_log_records BY NAME
SELECT tenant_id,
       {_HASH} AS record_hash,
       trace_id::UUID AS trace_id,
       span_id, time_unix_nano, observed_time_unix_nano, effective_time_unix_nano, severity_number,
       severity_text, event_name, body, attributes, resource_attributes, service_name, scope_name,
       scope_version, flags, dropped_attributes_count, $1 AS commit_seq
FROM log_batch
"""


def insert_log_records(cursor: Any, tables: Sequence[pa.Table], commit_seq: int) -> int:
    """Insert the records of ``tables`` (``LOG_ROWS``) not stored yet; returns how many were new."""
    batch = pa.concat_tables(tables).combine_chunks()
    batch = batch.append_column("row", pa.array(np.arange(batch.num_rows, dtype=np.int64)))
    cursor.register("log_batch", batch)
    try:
        duplicates = _duplicate_rows(cursor, batch)
        if duplicates:
            cursor.unregister("log_batch")
            batch = batch.filter(pc.invert(pc.is_in(batch.column("row"), pa.array(duplicates))))
            cursor.register("log_batch", batch)
        if batch.num_rows:
            cursor.execute(INSERT_LOG_RECORDS, [commit_seq])
    finally:
        cursor.unregister("log_batch")
        cursor.execute("DROP TABLE IF EXISTS log_keys")
    return int(batch.num_rows)


def _duplicate_rows(cursor: Any, batch: pa.Table) -> list[int]:
    """The batch rows that are records stored already, or repeats of an earlier row."""
    cursor.execute(LOG_KEYS)
    rows = {row for (row,) in cursor.execute(REPEATED_ROWS).fetchall()}
    times = batch.column("effective_time_unix_nano")
    timed = pc.filter(times, pc.greater(times, 0))
    ranges = []
    if len(timed):
        ranges.append((pc.min(timed).as_py(), pc.max(timed).as_py()))
    if len(timed) < len(times):
        ranges.append((0, 0))
    for low, high in ranges:
        rows.update(row for (row,) in cursor.execute(STORED_DUPLICATES, {"low": low, "high": high}).fetchall())
    return sorted(rows)


def commit_rows(
    cursor: Any,
    span_tables: Sequence[pa.Table],
    log_tables: Sequence[pa.Table],
    commit_seq: int,
    *,
    on_lake: bool = False,
) -> tuple[int, int]:
    """Spans (``insert_spans``) and log records in one transaction of their own: committed, or rolled back
    and the error raised. Returns how many spans and how many log records were new. ``on_lake``: take the
    lake's write lock shared first (store/write_lock.py)."""
    if on_lake:
        with write_lock.held(cursor, exclusive=False):
            return commit_rows(cursor, span_tables, log_tables, commit_seq)
    with transaction(cursor):
        spans = insert_spans(cursor, span_tables, commit_seq) if span_tables else 0
        records = insert_log_records(cursor, log_tables, commit_seq) if log_tables else 0
    return spans, records


def last_commit(cursor: Any) -> int:
    """The newest commit of spans or of log records (0 when none): where a writer continues, and what a
    live feed last saw."""
    return max(last_commit_seq(cursor), last_log_commit_seq(cursor))


def last_log_commit_seq(cursor: Any) -> int:
    """The newest commit_seq of a log record (0 when none): a commit may hold log records alone, and a
    restarted writer must continue past it as past spans' (``last_commit_seq``)."""
    row = cursor.execute("SELECT coalesce(max(commit_seq), 0) FROM stored_log_records").fetchone()
    return int(row[0])
