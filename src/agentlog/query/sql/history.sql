-- Runs newest first, with optional filters (NULL = no filter) and keyset paging:
-- $after_ns/$after_trace is the last run of the previous page.
SELECT run_id, status, agent, agent_id, user_id, session_id, input, output,
       started_ns, ended_ns, node_count, successful_nodes, failed_nodes,
       input_tokens, output_tokens, cache_read_tokens, reasoning_tokens, total_tokens,
       cost_usd, cost_source, models, error_node, error_type, error_message,
       service_name, trace_id
FROM run_summaries
WHERE tenant_id = $tenant
  AND ($user_scope IS NULL OR user_id = $user_scope)
  AND ($agent IS NULL OR agent = $agent OR agent_id = $agent)
  AND ($user IS NULL OR user_id = $user)
  AND ($session IS NULL OR session_id = $session)
  AND ($status IS NULL OR status = $status)
  AND ($since::UBIGINT IS NULL OR started_ns >= $since::UBIGINT)
  AND ($until::UBIGINT IS NULL OR started_ns < $until::UBIGINT)
  AND ($after_ns::UBIGINT IS NULL OR started_ns < $after_ns::UBIGINT OR (started_ns = $after_ns::UBIGINT AND trace_id < $after_trace::UHUGEINT))
ORDER BY started_ns DESC, trace_id DESC
LIMIT $limit OFFSET $skip
