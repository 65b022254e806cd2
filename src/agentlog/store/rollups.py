"""Run roll-ups that several writers share: append-only partials, folded by a compactor.

Each commit appends its batch's per-run rows (queries/fold_runs.sql) to
``run_partials``; no writer updates a row another may touch, so two writers
adding spans to one run neither conflict nor lose an update. ``run_rollups``
is a view merging ``run_compacted`` with the partials (views/run_rollups.sql),
so what a reader sees never depends on whether compaction ran.
``compact_runs`` folds the partials into ``run_compacted``: in one
transaction, it reads the partials up to the largest ``partial_id`` it sees,
replaces their runs' compacted rows by the merge, and deletes those partials
and no others: a partial another writer commits meanwhile stays for the next
compaction. Both the view and the compactor merge by queries/merge_rollups.sql.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from agentlog.store.transactions import transaction

_QUERIES = Path(__file__).parent / "queries"

MERGE_ROLLUPS = (_QUERIES / "merge_rollups.sql").read_text()

DEFAULT_COMPACT_EVERY = 64
"""Commits between compactions while a writer is busy (an idle writer compacts at once)."""

# The rows of the runs that have partials, as the view and the compactor merge them.
# The compacted rows are found on the keys alone, then read by rowid: DuckDB then
# reads the wide columns of those rows only, not of every run (58 -> 10 ms at
# 50,000 runs).
_WITH_PARTIALS = """
SELECT * FROM run_compacted
WHERE rowid IN (
    SELECT c.rowid FROM run_compacted c
    SEMI JOIN {partials} p ON p.tenant_id = c.tenant_id AND p.trace_id = c.trace_id
)
UNION ALL
SELECT * EXCLUDE (partial_id) FROM {partials}
"""


def merge_rollups(rollups: str) -> str:
    """queries/merge_rollups.sql over the rows ``rollups`` (a SELECT) selects."""
    return MERGE_ROLLUPS.replace("{rollups}", f"(\n{rollups}\n)")


VIEW_MERGE = merge_rollups(_WITH_PARTIALS.format(partials="run_partials"))
"""The merged runs that have partials (views/run_rollups.sql puts it after the runs that have none)."""

BOUND = "SELECT max(partial_id) FROM run_partials"
TAKE = """
CREATE OR REPLACE TEMP TABLE compacting AS
SELECT * FROM run_partials WHERE partial_id <= $bound
"""
MERGED = f"""
CREATE OR REPLACE TEMP TABLE compacted_runs AS
{merge_rollups(_WITH_PARTIALS.format(partials="compacting"))}
"""
DELETE_COMPACTED = """
DELETE FROM run_compacted USING compacted_runs m
WHERE run_compacted.tenant_id = m.tenant_id AND run_compacted.trace_id = m.trace_id
"""
# In start order, as migration 0014 wrote them: the history's time windows prune by zone maps on started_ns.
INSERT_COMPACTED = "INSERT INTO run_compacted BY NAME SELECT * FROM compacted_runs ORDER BY started_ns"
DELETE_PARTIALS = "DELETE FROM run_partials WHERE partial_id <= $bound"


def fold_partials(cursor: Any) -> int:
    """Fold every partial this transaction sees into run_compacted, in the caller's transaction;
    returns how many partials it folded."""
    (bound,) = cursor.execute(BOUND).fetchone()
    if bound is None:
        return 0
    cursor.execute(TAKE, {"bound": bound})
    cursor.execute(MERGED)
    cursor.execute(DELETE_COMPACTED)
    cursor.execute(INSERT_COMPACTED)
    (folded,) = cursor.execute(DELETE_PARTIALS, {"bound": bound}).fetchone()
    cursor.execute("DROP TABLE compacting")
    cursor.execute("DROP TABLE compacted_runs")
    return int(folded)


def compact_runs(cursor: Any) -> int:
    """``fold_partials`` in a transaction of its own; returns how many partials it folded.

    Another writer's partials committed meanwhile are not in this transaction's
    snapshot, so they are neither read nor deleted. Should another compactor
    (or retention) change the same runs first, this one conflicts, rolls back
    and raises: nothing is lost, and the next compaction folds them."""
    with transaction(cursor):
        return fold_partials(cursor)


def has_partials(cursor: Any, tenant_id: str | None = None) -> bool:
    """Whether any partial (of ``tenant_id``'s runs, when given) waits for compaction."""
    if tenant_id is None:
        return cursor.execute("SELECT 1 FROM run_partials LIMIT 1").fetchone() is not None
    found = cursor.execute("SELECT 1 FROM run_partials WHERE tenant_id = $tenant LIMIT 1", {"tenant": tenant_id})
    return found.fetchone() is not None


# The read shortcut. Through the view, even with no partials at all, DuckDB
# plans the merge, and a history page took 4x as long (bench/rollup_view.py);
# a tenant without partials reads run_compacted, and compacted_summaries (the
# view run_summaries over it), directly: the same rows.
COMPACTED_READS = {"run_rollups": "run_compacted", "run_summaries": "compacted_summaries"}
_READ_NAMES = re.compile(r"\b(" + "|".join(COMPACTED_READS) + r")\b")


@lru_cache(maxsize=256)
def compacted(sql: str) -> str:
    """``sql`` reading run_compacted where it reads run_rollups (and compacted_summaries for run_summaries)."""
    return _READ_NAMES.sub(lambda match: COMPACTED_READS[match.group(1)], sql)


def reads_for(cursor: Any, tenant_id: str) -> Callable[[str], str]:
    """How ``tenant_id``'s reads should read: ``compacted`` when it has no partials (the same result,
    sooner), else as written. One check for all the statements of a read.

    The check is a statement of its own: should a writer commit a partial in
    between, the read sees the runs as of the last compaction, as it would had
    it run a moment earlier."""
    return _as_written if has_partials(cursor, tenant_id) else compacted


def for_tenant(cursor: Any, tenant_id: str, sql: str) -> str:
    """``sql`` as ``tenant_id``'s read of it should be (``reads_for``), for a read of one statement."""
    return reads_for(cursor, tenant_id)(sql)


def _as_written(sql: str) -> str:
    return sql
