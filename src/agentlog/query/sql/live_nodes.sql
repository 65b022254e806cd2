-- Nodes stored (finished) or announced (started) by the commits {in_commits} names: those in
-- ($after, $upto], or the late ones (live_late_runs.sql).
SELECT trace_hex(trace_id) AS run_id, running, start_time_unix_nano, end_time_unix_nano,
       events, document
FROM node_documents
WHERE tenant_id = $tenant AND {in_commits}
  AND list_contains($traces, trace_hex(trace_id))
  AND parent_span_id IS NOT NULL
ORDER BY commit_seq, running DESC, start_time_unix_nano
