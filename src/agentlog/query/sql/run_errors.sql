-- The failed spans of one run, in the order they failed.
SELECT printf('%016x', span_id) AS span_id, name, coalesce(error_type, 'error') AS type,
       coalesce(error_message, status_message) AS message, end_time_unix_nano
FROM stored_spans
WHERE tenant_id = $tenant AND trace_id = $trace::UHUGEINT AND commit_seq BETWEEN $first_seq AND $last_seq
  AND status_code = 2
ORDER BY end_time_unix_nano, span_id
LIMIT $limit
