-- Runs changed by commits that landed after later-numbered ones were sent ($late: their numbers, between
-- $low and $high): on a lake several collectors number their commits from one sequence, and one may
-- land after a higher number another took later. Otherwise as live_runs.sql; their nodes: live_nodes.sql.
WITH touched AS (
    SELECT DISTINCT tenant_id, trace_id FROM stored_spans
    WHERE tenant_id = $tenant AND commit_seq BETWEEN $low AND $high AND list_contains($late, commit_seq)
    UNION
    SELECT DISTINCT tenant_id, trace_id FROM pending_spans
    WHERE tenant_id = $tenant AND commit_seq BETWEEN $low AND $high AND list_contains($late, commit_seq)
)
SELECT r.* EXCLUDE (trace_id),
       list_contains($late, r.first_seq) AS started_in_range,
       EXISTS (
           SELECT 1 FROM stored_spans s
           WHERE s.tenant_id = r.tenant_id AND s.trace_id = r.trace_id AND s.span_id = r.root_span_id
             AND list_contains($late, s.commit_seq)
       ) AS finished_in_range
FROM run_summaries r
SEMI JOIN touched t ON t.tenant_id = r.tenant_id AND t.trace_id = r.trace_id
WHERE r.tenant_id = $tenant
  AND ($user_scope IS NULL OR r.user_id = $user_scope)
  AND ($agent IS NULL OR r.agent = $agent OR r.agent_id = $agent)
  AND ($user IS NULL OR r.user_id = $user)
  AND ($trace::UUID IS NULL OR r.trace_id = $trace::UUID)
ORDER BY r.commit_seq, r.started_ns
