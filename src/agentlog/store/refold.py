"""Folding runs again from their stored spans, in the caller's transaction.

For a rewrite that changes what a run's roll-up would be (renormalizing its spans, dropping a span
stored twice): every partial is folded first, then the touched runs' compacted rows are replaced by a
fold of all their stored spans, keeping the commits they span.
"""

from __future__ import annotations

from typing import Any

from agentlog.store.rollups import fold_partials
from agentlog.store.spans import fold_runs

# The touched runs as compacted (every partial folded first), with the commits they span; from a temporary
# table ``refold_keys`` (tenant_id, trace_id) the caller made.
TOUCHED = """
CREATE OR REPLACE TEMP TABLE touched_runs AS
SELECT c.tenant_id, c.trace_id, c.first_seq, c.commit_seq
FROM run_compacted c
SEMI JOIN refold_keys k ON k.tenant_id = c.tenant_id AND k.trace_id = c.trace_id
"""
DELETE_TOUCHED = """
DELETE FROM run_compacted USING touched_runs t
WHERE run_compacted.tenant_id = t.tenant_id AND run_compacted.trace_id = t.trace_id
"""
# Every stored span of the touched runs, as the writer's span_batch holds them (queries/fold_runs.sql).
REFOLD_BATCH = """
CREATE OR REPLACE TEMP TABLE span_batch AS
SELECT s.tenant_id, s.trace_id, s.span_id, s.parent_span_id, s.name, s.start_time_unix_nano, s.end_time_unix_nano,
       s.status_code, s.status_message, s.service_name, s.node_type, s.agent_name, s.agent_id, s.model, s.input_tokens,
       s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.reasoning_tokens, s.total_tokens,
       s.usage_aggregated, s.cost_usd, s.cost_source, span_text(s.input, s.input_key, s.attributes) AS input,
       span_text(s.output, s.output_key, s.attributes) AS output, s.user_id, s.session_id, s.error_type,
       s.error_message, false AS is_pending
FROM stored_spans s
SEMI JOIN touched_runs t ON t.tenant_id = s.tenant_id AND t.trace_id = s.trace_id
"""
# The refolded runs keep the commits they span (the logs read a run's spans between them).
RESTORE_SEQS = """
UPDATE run_compacted SET first_seq = t.first_seq, commit_seq = t.commit_seq
FROM touched_runs t
WHERE run_compacted.tenant_id = t.tenant_id AND run_compacted.trace_id = t.trace_id
"""


def refold_runs(cursor: Any) -> None:
    """Fold every partial, then fold the runs named in the temporary table ``refold_keys`` again from all
    their stored spans (their live-status markers aside: a run being refolded is one whose spans are
    stored); drops the temporary tables it made."""
    fold_partials(cursor)
    cursor.execute(TOUCHED)
    cursor.execute(DELETE_TOUCHED)
    cursor.execute(REFOLD_BATCH)
    fold_runs(cursor, 0)  # the commit seqs are set back below
    fold_partials(cursor)
    cursor.execute(RESTORE_SEQS)
    for table in ("span_batch", "touched_runs"):
        cursor.execute(f"DROP TABLE {table}")
