"""Inserting span rows and folding them into run summaries, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from agentlog.proto import SPAN_ROWS
from agentlog.store.transactions import transaction

_QUERIES = Path(__file__).parent / "queries"

_STORED = [name for name in SPAN_ROWS.names if name not in ("trace_id", "is_pending")]
_TRACE_ID = "trace_id::UUID"  # the batch's 16 bytes (proto.ids.TRACE_ID_TYPE) as stored
# The text stays in `attributes` alone when it is an attribute's value verbatim (span_text() reads it).
_STORED_VALUES = {
    "input": "CASE WHEN input_key IS NULL THEN input END",
    "output": "CASE WHEN output_key IS NULL THEN output END",
}

# The keys of the batch, copied into DuckDB once: the duplicate check and the
# marker clean-up join on them (joins must not read the Arrow table itself:
# DuckDB pushes join filters into Arrow scans as Python ints, which overflow
# on ids above 2**63).
BATCH_KEYS = f"""
CREATE OR REPLACE TEMP TABLE batch_keys AS
SELECT "row", tenant_id, {_TRACE_ID} AS trace_id, span_id, is_pending
FROM span_batch
"""

# The batch's runs that are stored already, with the oldest commit of each:
# the duplicate check looks among their spans from it on. Read from the two
# tables the view run_rollups merges (their keys alone, not the merged rows).
KNOWN_RUNS = """
CREATE OR REPLACE TEMP TABLE known_runs AS
SELECT tenant_id, trace_id, min(first_seq) AS first_seq
FROM (
    SELECT r.tenant_id, r.trace_id, r.first_seq
    FROM run_compacted r
    SEMI JOIN batch_keys b ON b.tenant_id = r.tenant_id AND b.trace_id = r.trace_id
    UNION ALL
    SELECT r.tenant_id, r.trace_id, r.first_seq
    FROM run_partials r
    SEMI JOIN batch_keys b ON b.tenant_id = r.tenant_id AND b.trace_id = r.trace_id
)
GROUP BY tenant_id, trace_id
"""

# The oldest commit of the stored runs this batch adds spans to: only their
# spans can be duplicates, and only from that commit on.
KNOWN_RUNS_FIRST_SEQ = """
SELECT min(k.first_seq)
FROM known_runs k
SEMI JOIN batch_keys b ON b.tenant_id = k.tenant_id AND b.trace_id = k.trace_id AND NOT b.is_pending
"""

# Spans of the batch stored before, looked for from commit $1 on.
STORED_DUPLICATES = """
SELECT b."row"
FROM batch_keys b
SEMI JOIN (
    SELECT tenant_id, trace_id, span_id FROM stored_spans WHERE commit_seq >= $1
) s ON s.tenant_id = b.tenant_id AND s.trace_id = b.trace_id AND s.span_id = b.span_id
WHERE NOT b.is_pending
"""

# Spans repeated inside the batch (a retry queued behind its original): all but the first.
REPEATED_ROWS = """
SELECT "row"
FROM batch_keys
WHERE NOT is_pending
QUALIFY row_number() OVER (PARTITION BY tenant_id, trace_id, span_id ORDER BY "row") > 1
"""

INSERT_SPANS = f"""
INSERT INTO stored_spans ({", ".join(["tenant_id", "trace_id", *_STORED[1:], "commit_seq"])})
SELECT tenant_id, {_TRACE_ID}, {", ".join(_STORED_VALUES.get(name, name) for name in _STORED[1:])}, $1
FROM span_batch
WHERE NOT is_pending
"""

# A marker already stored (a retry) or repeated in the batch is skipped: by the statement, not by a key
# constraint (a lake has none).
INSERT_MARKERS = f"""
INSERT INTO pending_spans
SELECT tenant_id, {_TRACE_ID}, span_id, parent_span_id, name, start_time_unix_nano, node_type, attributes, $1,
       input, model, tool_name
FROM span_batch b
WHERE is_pending
  AND NOT EXISTS (
      SELECT 1 FROM pending_spans p
      WHERE p.tenant_id = b.tenant_id AND p.trace_id = b.{_TRACE_ID} AND p.span_id = b.span_id
  )
QUALIFY row_number() OVER (PARTITION BY b.tenant_id, b.trace_id, b.span_id ORDER BY "row") = 1
"""

# A marker's job is done once its span is stored.
DELETE_ANSWERED_MARKERS = """
DELETE FROM pending_spans
USING batch_keys
WHERE NOT batch_keys.is_pending
  AND pending_spans.tenant_id = batch_keys.tenant_id
  AND pending_spans.trace_id = batch_keys.trace_id
  AND pending_spans.span_id = batch_keys.span_id
"""

FOLD_RUNS = (_QUERIES / "fold_runs.sql").read_text()

ROLLUP_SQL = (BATCH_KEYS, KNOWN_RUNS, FOLD_RUNS)
"""Every statement that decides what run_rollups holds (find_known_runs, then fold_runs)."""


def insert_spans(
    cursor: Any, tables: Sequence[pa.Table], commit_seq: int, lap: Callable[[str], None] | None = None
) -> int:
    """Insert spans and markers, fold them into ``runs``; returns how many spans were new.

    ``lap``, when given, is called with the name of each stage as it ends
    ("duplicates", "insert", "roll-up"): bench/ingest.py times them."""
    lap = lap or _no_lap
    # One chunk: DuckDB scans an Arrow table chunk by chunk, and the requests' 512-span chunks cost
    # it 2.5x the CPU of one chunk of them all (the copy included; bench/README, ingest stages).
    span_batch = pa.concat_tables(tables).combine_chunks()
    span_batch = span_batch.append_column("row", pa.array(np.arange(span_batch.num_rows, dtype=np.int64)))
    cursor.register("span_batch", span_batch)
    try:
        known_runs = find_known_runs(cursor)
        duplicates = _duplicate_rows(cursor, known_runs)
        if duplicates:
            cursor.unregister("span_batch")
            span_batch = span_batch.filter(pc.invert(pc.is_in(span_batch.column("row"), pa.array(duplicates))))
            cursor.register("span_batch", span_batch)
        lap("duplicates")
        cursor.execute(INSERT_SPANS, [commit_seq])
        markers = pc.sum(span_batch.column("is_pending")).as_py() or 0
        if markers:
            cursor.execute(INSERT_MARKERS, [commit_seq])
        cursor.execute(DELETE_ANSWERED_MARKERS)
        lap("insert")
        fold_runs(cursor, commit_seq)
        lap("roll-up")
    finally:
        cursor.unregister("span_batch")
    return int(span_batch.num_rows - markers)


def _no_lap(stage: str) -> None:
    pass


def find_known_runs(cursor: Any) -> int:
    """Key span_batch (batch_keys) and find which of its runs are stored (known_runs); returns how many are."""
    cursor.execute(BATCH_KEYS)
    return int(cursor.execute(KNOWN_RUNS).fetchone()[0])


def fold_runs(cursor: Any, commit_seq: int) -> None:
    """Fold span_batch into per-run rows and append them to run_partials.

    Append-only, so that several writers can add spans to one run at once:
    the view run_rollups merges the partials, the compactor folds them."""
    cursor.execute(FOLD_RUNS, [commit_seq])


def _duplicate_rows(cursor: Any, known_runs: int) -> list[int]:
    """The batch rows that are spans stored already, or repeats of an earlier row."""
    rows = {row for (row,) in cursor.execute(REPEATED_ROWS).fetchall()}
    if not known_runs:
        return sorted(rows)
    (first_seq,) = cursor.execute(KNOWN_RUNS_FIRST_SEQ).fetchone()
    if first_seq is not None:
        rows.update(row for (row,) in cursor.execute(STORED_DUPLICATES, [first_seq]).fetchall())
    return sorted(rows)


def commit_spans(cursor: Any, tables: Sequence[pa.Table], commit_seq: int) -> int:
    """``insert_spans`` in a transaction of its own: committed, or rolled back and the error raised."""
    with transaction(cursor):
        return insert_spans(cursor, tables, commit_seq)


# The view's max(commit_seq), from its two tables' (the view would merge every run first).
LAST_COMMIT_SEQ = """
SELECT coalesce(greatest((SELECT max(commit_seq) FROM run_compacted), (SELECT max(commit_seq) FROM run_partials)), 0)
"""


def last_commit_seq(cursor: Any) -> int:
    """The newest commit_seq in the database (0 when empty): where a restarted writer continues."""
    row = cursor.execute(LAST_COMMIT_SEQ).fetchone()
    return int(row[0])
