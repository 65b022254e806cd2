"""Retention: deleting whole runs that ended before a cutoff, in batches.

Only whole runs go: a run's spans, markers, log records and roll-up in one
transaction, so no reader ever sees half a run. A running run (no root span
yet) is kept unless it started more than ``ABANDONED_AFTER_NS`` before the
cutoff: an agent that crashed never sends its root, and its run must not live
forever.

A log record goes with its run. One that belongs to no stored run (no trace
id, or a trace whose spans never came) goes once its time (else its observed
time) is before the cutoff; one sent with neither time counts as old.

Each batch is its own transaction; the caller decides where it runs (the
server runs batches on its writer thread, between ingest commits, so the
two never conflict and ingest waits at most one batch).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from agentlog.store.transactions import conflicts_retried, transaction
from agentlog.store.write_lock import deleting

DEFAULT_BATCH_RUNS = 20_000
"""Runs deleted per transaction: ~200k spans, a few hundred ms on the reference machine."""

ABANDONED_AFTER_NS = 86_400 * 10**9
"""A run without a root that started a day before the cutoff is taken as abandoned."""

# Expired: ended before the cutoff, or never ended and abandoned. A run ends
# after it starts, so `started_ns < cutoff` holds for all of them and lets zone
# maps skip the recent row groups. (The end is run_ended_ns of run_fields.sql,
# NULL while the root has not arrived; read from run_rollups directly so that
# no summary text is built for a delete; and root.span_id, not the whole root
# STRUCT, which would read its texts too.)
EXPIRED = """
tenant_id = $tenant
  AND started_ns < $cutoff::UBIGINT
  AND (run_ended_ns(root, started_ns) < $cutoff::UBIGINT
       OR (root.span_id IS NULL AND started_ns < $abandoned::UBIGINT))
"""

SELECT_BATCH = f"""
CREATE OR REPLACE TEMP TABLE expired_runs AS
SELECT tenant_id, trace_id, first_seq, commit_seq
FROM run_rollups
WHERE {EXPIRED}
LIMIT $batch
"""

COUNT_EXPIRED = f"""
SELECT count(*), coalesce(sum(span_count), 0)
FROM run_rollups
WHERE {EXPIRED}
"""

# The expired runs are the oldest, so their commit_seq range is the oldest row
# groups of stored_spans; bounding the delete by it lets zone maps skip the rest.
DELETE_SPANS = """
DELETE FROM stored_spans
USING expired_runs e
WHERE stored_spans.tenant_id = e.tenant_id AND stored_spans.trace_id = e.trace_id
  AND stored_spans.commit_seq BETWEEN $low AND $high
"""
DELETE_MARKERS = """
DELETE FROM pending_spans USING expired_runs e
WHERE pending_spans.tenant_id = e.tenant_id AND pending_spans.trace_id = e.trace_id
"""
DELETE_LOG_RECORDS = """
DELETE FROM stored_log_records USING expired_runs e
WHERE stored_log_records.tenant_id = e.tenant_id AND stored_log_records.trace_id = e.trace_id
"""
# Records of no run, from before the cutoff: without a trace, or of a trace with no roll-up (its spans never
# came, or went before this record arrived). Zone maps on the time skip the recent row groups.
ORPHAN_LOG_RECORDS = """
FROM stored_log_records l
WHERE l.tenant_id = $tenant
  AND l.effective_time_unix_nano < $cutoff::UBIGINT
  AND (l.trace_id IS NULL
       OR (NOT EXISTS (SELECT 1 FROM run_compacted r WHERE r.tenant_id = l.tenant_id AND r.trace_id = l.trace_id)
           AND NOT EXISTS (SELECT 1 FROM run_partials r WHERE r.tenant_id = l.tenant_id AND r.trace_id = l.trace_id)))
"""
DELETE_ORPHAN_LOG_RECORDS = f"""
DELETE FROM stored_log_records WHERE rowid IN (SELECT l.rowid {ORPHAN_LOG_RECORDS})
"""
COUNT_ORPHAN_LOG_RECORDS = f"SELECT count(*) {ORPHAN_LOG_RECORDS}"
COUNT_RUN_LOG_RECORDS = f"""
SELECT count(*)
FROM stored_log_records l
SEMI JOIN (SELECT tenant_id, trace_id FROM run_rollups WHERE {EXPIRED}) e
  ON e.tenant_id = l.tenant_id AND e.trace_id = l.trace_id
"""
# A run's roll-up is its compacted row and its partials (store/rollups.py): both go.
DELETE_RUNS = """
DELETE FROM run_compacted USING expired_runs e
WHERE run_compacted.tenant_id = e.tenant_id AND run_compacted.trace_id = e.trace_id
"""
DELETE_PARTIALS = """
DELETE FROM run_partials USING expired_runs e
WHERE run_partials.tenant_id = e.tenant_id AND run_partials.trace_id = e.trace_id
"""


@dataclass(frozen=True)
class Deleted:
    runs: int
    spans: int
    log_records: int = 0

    def __add__(self, other: Deleted) -> Deleted:
        return Deleted(self.runs + other.runs, self.spans + other.spans, self.log_records + other.log_records)

    def to_json(self) -> dict[str, int]:
        return {"runs": self.runs, "spans": self.spans, "log_records": self.log_records}


def _params(tenant_id: str, cutoff_ns: int) -> dict[str, Any]:
    return {"tenant": tenant_id, "cutoff": cutoff_ns, "abandoned": max(0, cutoff_ns - ABANDONED_AFTER_NS)}


def count_expired(cursor: Any, tenant_id: str, cutoff_ns: int) -> Deleted:
    """What ``delete_batch`` and ``delete_orphan_log_records`` would delete, all batches together (a dry run)."""
    params = _params(tenant_id, cutoff_ns)
    runs, spans = cursor.execute(COUNT_EXPIRED, params).fetchone()
    (of_runs,) = cursor.execute(COUNT_RUN_LOG_RECORDS, params).fetchone()
    (orphans,) = cursor.execute(COUNT_ORPHAN_LOG_RECORDS, {"tenant": tenant_id, "cutoff": cutoff_ns}).fetchone()
    return Deleted(int(runs), int(spans), int(of_runs) + int(orphans))


def delete_batch(cursor: Any, tenant_id: str, cutoff_ns: int, batch_runs: int = DEFAULT_BATCH_RUNS) -> Deleted:
    """Delete up to ``batch_runs`` expired runs in one transaction; Deleted(0, 0) when none are left."""
    with deleting(cursor), transaction(cursor):
        cursor.execute(SELECT_BATCH, {**_params(tenant_id, cutoff_ns), "batch": batch_runs})
        runs, low, high = cursor.execute(
            "SELECT count(*), min(first_seq), max(commit_seq) FROM expired_runs"
        ).fetchone()
        spans = log_records = 0
        if runs:
            spans = int(cursor.execute(DELETE_SPANS, {"low": low, "high": high}).fetchone()[0])
            log_records = int(cursor.execute(DELETE_LOG_RECORDS).fetchone()[0])
            cursor.execute(DELETE_MARKERS)
            cursor.execute(DELETE_RUNS)
            cursor.execute(DELETE_PARTIALS)
        cursor.execute("DROP TABLE expired_runs")
    return Deleted(int(runs), spans, log_records)


def delete_orphan_log_records(cursor: Any, tenant_id: str, cutoff_ns: int) -> Deleted:
    """Delete, in one transaction, the tenant's log records of no stored run from before the cutoff."""
    with deleting(cursor), transaction(cursor):
        (deleted,) = cursor.execute(DELETE_ORPHAN_LOG_RECORDS, {"tenant": tenant_id, "cutoff": cutoff_ns}).fetchone()
    return Deleted(0, 0, int(deleted))


Execute = Callable[[Callable[[Any], Deleted]], Awaitable[Deleted]]


async def delete_expired(
    execute: Execute, tenant_id: str, cutoff_ns: int, batch_runs: int = DEFAULT_BATCH_RUNS
) -> Deleted:
    """Delete every expired run, one batch per ``execute`` call (the server's writer thread runs each
    between ingest commits, so ingest waits at most one batch); then the log records of no run."""
    total = Deleted(0, 0)
    while True:
        deleted = await execute(lambda cursor: _retried(delete_batch, cursor, tenant_id, cutoff_ns, batch_runs))
        total += deleted
        if deleted.runs < batch_runs:
            orphans = await execute(lambda cursor: _retried(delete_orphan_log_records, cursor, tenant_id, cutoff_ns))
            return total + orphans


def delete_expired_now(cursor: Any, tenant_id: str, cutoff_ns: int, batch_runs: int = DEFAULT_BATCH_RUNS) -> Deleted:
    """``delete_expired`` on one cursor, for a database no server holds."""
    total = Deleted(0, 0)
    while True:
        deleted = _retried(delete_batch, cursor, tenant_id, cutoff_ns, batch_runs)
        total += deleted
        if deleted.runs < batch_runs:
            return total + _retried(delete_orphan_log_records, cursor, tenant_id, cutoff_ns)


CONFLICT_ATTEMPTS = 10
"""Tries of one batch whose commit conflicts with another process's: on a lake DuckLake counts a delete as
conflicting with every other collector's insert into the same table, so a busy lake conflicts often."""
CONFLICT_BACKOFF_SECONDS = 0.02


def _retried(delete: Callable[..., Deleted], cursor: Any, *args: Any) -> Deleted:
    """``delete(cursor, *args)``, tried again (all or nothing each time) when its commit conflicts."""
    return conflicts_retried(
        lambda: delete(cursor, *args), attempts=CONFLICT_ATTEMPTS, backoff_seconds=CONFLICT_BACKOFF_SECONDS
    )
