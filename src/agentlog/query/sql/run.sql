-- One run's summary, with what is needed to find its spans.
SELECT r.*, run_rollups.root.span_id AS root_span_id
FROM run_summaries r
JOIN run_rollups USING (tenant_id, trace_id)
WHERE r.tenant_id = $tenant
  AND r.trace_id = $trace::UHUGEINT
  AND ($user_scope IS NULL OR r.user_id = $user_scope)
