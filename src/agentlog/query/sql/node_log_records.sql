-- The log records of some of a run's spans ($ids: their decimal span ids,
-- comma-separated, as run_page.sql takes them), oldest first, at most $max a
-- span. A record with no time (0) sorts first; ties go by the record's digest,
-- so the order is the same on every read.
SELECT span_id, effective_time_unix_nano, severity_text, severity_number, event_name, body, attributes
FROM stored_log_records
WHERE tenant_id = $tenant
  AND trace_id = $trace::UUID
  AND span_id IN (SELECT unnest(string_split($ids, ','))::UBIGINT)
QUALIFY row_number() OVER (PARTITION BY span_id ORDER BY effective_time_unix_nano, record_hash) <= $max
ORDER BY span_id, effective_time_unix_nano, record_hash
