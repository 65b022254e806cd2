-- Per agent over a window: its runs' nodes by type, by model and by tool.
WITH r AS (
    SELECT tenant_id, trace_id, agent, first_seq
    FROM run_summaries
    WHERE tenant_id = $tenant
      AND ($user_scope IS NULL OR user_id = $user_scope)
      AND ($agent IS NULL OR agent = $agent OR agent_id = $agent)
      AND started_ns >= $since::UBIGINT
),
n AS (
    SELECT r.agent, s.node_type, s.model, s.tool_name, s.status_code = 2 AS failed,
           (s.end_time_unix_nano - s.start_time_unix_nano) / 1e6 AS duration_ms,
           s.input_tokens, s.output_tokens, s.total_tokens, s.cost_usd,
           own_usage(s.node_type, s.usage_aggregated) AS own_usage
    FROM stored_spans s
    JOIN r ON s.tenant_id = r.tenant_id AND s.trace_id = r.trace_id
    WHERE s.tenant_id = $tenant
      AND s.parent_span_id IS NOT NULL
      AND s.commit_seq >= (SELECT coalesce(min(first_seq), 0) FROM r)
)
SELECT 'type' AS facet, agent, node_type AS name, count(*) AS calls, count(*) FILTER (failed) AS errors,
       avg(duration_ms) AS avg_duration_ms, quantile_cont(duration_ms, 0.95) AS p95_duration_ms,
       coalesce(sum(input_tokens) FILTER (own_usage), 0) AS input_tokens,
       coalesce(sum(output_tokens) FILTER (own_usage), 0) AS output_tokens,
       coalesce(sum(cost_usd) FILTER (own_usage), 0) AS cost_usd
FROM n GROUP BY agent, node_type
UNION ALL
SELECT 'model', agent, model, count(*), count(*) FILTER (failed), avg(duration_ms), quantile_cont(duration_ms, 0.95),
       coalesce(sum(input_tokens) FILTER (own_usage), 0), coalesce(sum(output_tokens) FILTER (own_usage), 0),
       coalesce(sum(cost_usd) FILTER (own_usage), 0)
FROM n WHERE model IS NOT NULL AND own_usage GROUP BY agent, model
UNION ALL
SELECT 'tool', agent, tool_name, count(*), count(*) FILTER (failed), avg(duration_ms), quantile_cont(duration_ms, 0.95),
       0, 0, 0
FROM n WHERE node_type = 'tool' GROUP BY agent, tool_name
ORDER BY facet, agent, calls DESC, name
