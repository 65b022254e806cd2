-- A run as people read it: its fields (run_columns.sql, by the macros of
-- run_fields.sql), and what finds its spans.
CREATE OR REPLACE VIEW run_summaries AS
SELECT
    tenant_id,
    trace_id,
{run_columns},
    agent.id AS agent_id,
    service.name AS service_name,
    root.span_id AS root_span_id,
    first_seq,
    commit_seq
FROM run_rollups;
