-- One run's summary, with what is needed to find its spans. Its start time,
-- looked up first on run_rollups' narrow columns, lets zone maps skip every
-- row group of the view but one (run ids are random: they cannot).
SELECT * EXCLUDE (trace_id)
FROM run_summaries
WHERE tenant_id = $tenant
  AND trace_id = $trace::UHUGEINT
  AND started_ns = (SELECT started_ns FROM run_rollups WHERE tenant_id = $tenant AND trace_id = $trace::UHUGEINT)
  AND ($user_scope IS NULL OR user_id = $user_scope)
