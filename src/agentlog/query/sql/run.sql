-- One run's summary, with what is needed to find its spans, and how many
-- live-status markers it has. Its start time, looked up first on run_rollups'
-- narrow columns, lets zone maps skip every row group but one (run ids are
-- random: they cannot).
SELECT
{run_columns},
    root.span_id AS root_span_id,
    first_seq,
    commit_seq,
    (SELECT count(*) FROM pending_spans WHERE tenant_id = $tenant AND trace_id = $trace::UUID) AS markers
FROM run_rollups
WHERE tenant_id = $tenant
  AND trace_id = $trace::UUID
  AND started_ns = (SELECT started_ns FROM run_rollups WHERE tenant_id = $tenant AND trace_id = $trace::UUID)
  AND ($user_scope IS NULL OR "user".id = $user_scope)
