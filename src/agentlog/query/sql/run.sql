-- One run's summary, with what is needed to find its spans.
SELECT * EXCLUDE (trace_id)
FROM run_summaries
WHERE tenant_id = $tenant
  AND trace_id = $trace::UHUGEINT
  AND ($user_scope IS NULL OR user_id = $user_scope)
