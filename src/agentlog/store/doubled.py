"""Spans and log records a lake stored twice, found and dropped when the run roll-ups are compacted.

On a file, one writer checks every batch against what is stored, so a retry is never stored twice. On a
lake, two collectors can receive the same retry at the same instant (a load balancer sends an export that
timed out on one collector to another while the first still commits it): neither commit sees the other's,
and both store the spans. Each commit also counted them in its partial roll-up, so the run's totals count
them twice until the compactor, which sees both commits once both partials are there: it keeps the copy of
the earliest commit, deletes the others, and folds those runs again from their spans. Log records are
dropped alike (they have no roll-up), among the recent commits'.
"""

from __future__ import annotations

from typing import Any

from agentlog.store import write_lock
from agentlog.store.refold import refold_runs
from agentlog.store.rollups import fold_partials
from agentlog.store.transactions import transaction

# The oldest commit of the runs that have partials: a copy of their spans can be no older (zone maps on
# commit_seq then skip the older row groups).
FIRST_SEQ = """
SELECT min(first_seq) FROM (
    SELECT first_seq FROM run_partials
    UNION ALL
    SELECT c.first_seq FROM run_compacted c
    SEMI JOIN run_partials p ON p.tenant_id = c.tenant_id AND p.trace_id = c.trace_id
)
"""
DOUBLED = """
CREATE OR REPLACE TEMP TABLE doubled_spans AS
SELECT tenant_id, trace_id, span_id, min(commit_seq) AS kept_seq
FROM stored_spans s
WHERE commit_seq >= $first_seq
  AND EXISTS (SELECT 1 FROM run_partials p WHERE p.tenant_id = s.tenant_id AND p.trace_id = s.trace_id)
GROUP BY tenant_id, trace_id, span_id
HAVING count(*) > 1
"""
DROP_LATER = """
DELETE FROM stored_spans USING doubled_spans d
WHERE stored_spans.tenant_id = d.tenant_id AND stored_spans.trace_id = d.trace_id
  AND stored_spans.span_id = d.span_id AND stored_spans.commit_seq > d.kept_seq
"""
REFOLD_KEYS = "CREATE OR REPLACE TEMP TABLE refold_keys AS SELECT DISTINCT tenant_id, trace_id FROM doubled_spans"

RECENT_COMMITS = 10_000
"""How far back (in commit numbers) log records are looked at for copies. Two copies of a record come from
two commits in flight together, whose numbers are close; a retry that came later found the first copy
stored and was not stored again."""
# A log record has no run and no partial: its copies are looked for among the recent commits'.
DROP_LATER_RECORDS = """
DELETE FROM stored_log_records USING (
    SELECT tenant_id, record_hash, min(commit_seq) AS kept_seq
    FROM stored_log_records
    WHERE commit_seq > $low
    GROUP BY tenant_id, record_hash
    HAVING count(*) > 1
) d
WHERE stored_log_records.tenant_id = d.tenant_id AND stored_log_records.record_hash = d.record_hash
  AND stored_log_records.commit_seq > d.kept_seq
"""


def compact_runs_once_each(cursor: Any) -> tuple[int, int]:
    """``rollups.compact_runs`` for a lake, in one transaction under the lake's write lock (exclusive:
    store/write_lock.py): spans and log records stored twice dropped, partials folded, the runs that had
    doubled spans folded again; returns (partials folded, copies dropped)."""
    with write_lock.held(cursor, exclusive=True), transaction(cursor):
        spans = drop_doubled(cursor)
        records = drop_doubled_records(cursor)
        folded = fold_partials(cursor)
        if spans:
            refold_runs(cursor)
        for table in ("doubled_spans", "refold_keys"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
    return folded, spans + records


def drop_doubled(cursor: Any) -> int:
    """Delete every later copy of a span of a run with partials; how many. Leaves ``refold_keys``: the
    runs that had copies."""
    (first_seq,) = cursor.execute(FIRST_SEQ).fetchone()
    if first_seq is None:
        return 0
    cursor.execute(DOUBLED, {"first_seq": first_seq})
    (found,) = cursor.execute("SELECT count(*) FROM doubled_spans").fetchone()
    if not found:
        return 0
    (dropped,) = cursor.execute(DROP_LATER).fetchone()
    cursor.execute(REFOLD_KEYS)
    return int(dropped)


def drop_doubled_records(cursor: Any) -> int:
    """Delete every later copy of a log record among the ``RECENT_COMMITS`` newest commits; how many."""
    (newest,) = cursor.execute("SELECT max(commit_seq) FROM stored_log_records").fetchone()
    if newest is None:
        return 0
    (dropped,) = cursor.execute(DROP_LATER_RECORDS, {"low": newest - RECENT_COMMITS}).fetchone()
    return int(dropped)
