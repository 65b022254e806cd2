-- The summaries of the runs history_keys.sql chose ($traces: their decimal ids,
-- comma-separated), newest first; $low_ns..$high_ns (their start times) lets
-- zone maps skip the rest of the table.
SELECT run_id, status, agent, agent_id, user_id, session_id, input, output,
       started_ns, ended_ns, node_count, successful_nodes, failed_nodes,
       input_tokens, output_tokens, cache_read_tokens, reasoning_tokens, total_tokens,
       cost_usd, cost_source, models, error_node, error_type, error_message,
       service_name
FROM run_summaries
WHERE tenant_id = $tenant
  AND started_ns BETWEEN $low_ns::UBIGINT AND $high_ns::UBIGINT
  AND trace_id IN (SELECT unnest(string_split($traces, ','))::UHUGEINT)
ORDER BY started_ns DESC, trace_id DESC
