-- The shape of a run's span tree: ids, parents, start times. Bounded by the
-- run's commit_seq range so that zone maps skip every other row group.
SELECT span_id, parent_span_id, start_time_unix_nano, false AS running
FROM stored_spans
WHERE tenant_id = $tenant AND trace_id = $trace::UHUGEINT AND commit_seq BETWEEN $first_seq AND $last_seq
UNION ALL
SELECT span_id, parent_span_id, start_time_unix_nano, true AS running
FROM pending_spans
WHERE tenant_id = $tenant AND trace_id = $trace::UHUGEINT
