-- Runs changed by the commits in ($after, $upto], with whether they started or
-- finished within that range, for live events.
SELECT r.* EXCLUDE (trace_id),
       r.first_seq > $after AS started_in_range,
       EXISTS (
           SELECT 1 FROM stored_spans s
           WHERE s.tenant_id = r.tenant_id AND s.trace_id = r.trace_id AND s.span_id = r.root_span_id
             AND s.commit_seq > $after AND s.commit_seq <= $upto
       ) AS finished_in_range
FROM run_summaries r
WHERE r.tenant_id = $tenant
  AND r.commit_seq > $after AND r.commit_seq <= $upto
  AND ($user_scope IS NULL OR r.user_id = $user_scope)
  AND ($agent IS NULL OR r.agent = $agent OR r.agent_id = $agent)
  AND ($user IS NULL OR r.user_id = $user)
  AND ($trace::UUID IS NULL OR r.trace_id = $trace::UUID)
ORDER BY r.commit_seq, r.started_ns
