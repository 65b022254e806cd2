-- Metrics partials of the nodes of the runs started in [$low_ns, $high_ns)
-- whose last commit is in [$low_seq, $high_seq],
-- per agent and facet (node type, model, tool): counts and sums, and the
-- durations as a histogram (durations.sql), so that the partials of
-- different days add up (metrics_nodes.sql).
WITH r AS (
    SELECT tenant_id, trace_id, agent, agent_id, first_seq, commit_seq
    FROM run_summaries
    WHERE tenant_id = $tenant
      AND ($user_scope IS NULL OR user_id = $user_scope)
      AND started_ns >= $low_ns::UBIGINT AND started_ns < $high_ns::UBIGINT
      AND commit_seq BETWEEN $low_seq AND $high_seq
),
n AS (
    SELECT r.agent, r.agent_id, s.node_type, s.model, s.tool_name, s.status_code = 2 AS failed,
           elapsed_ms(s.start_time_unix_nano, s.end_time_unix_nano) AS duration_ms,
           s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens, s.cost_usd,
           own_usage(s.node_type, s.usage_aggregated) AS own_usage
    FROM stored_spans s
    JOIN r ON s.tenant_id = r.tenant_id AND s.trace_id = r.trace_id
    WHERE s.tenant_id = $tenant
      AND s.parent_span_id IS NOT NULL
      -- A run's spans were committed between its first and its last commit: zone maps skip the rest.
      AND s.commit_seq BETWEEN (SELECT coalesce(min(first_seq), 0) FROM r) AND (SELECT coalesce(max(commit_seq), 0) FROM r)
),
facets AS (
    SELECT 'type' AS facet, agent, agent_id, node_type AS name, failed, duration_ms,
           CASE WHEN own_usage THEN input_tokens END AS input_tokens,
           CASE WHEN own_usage THEN output_tokens END AS output_tokens,
           CASE WHEN own_usage THEN cache_read_tokens END AS cache_read_tokens,
           CASE WHEN own_usage THEN cache_write_tokens END AS cache_write_tokens,
           CASE WHEN own_usage THEN cost_usd END AS cost_usd
    FROM n
    UNION ALL
    SELECT 'model', agent, agent_id, model, failed, duration_ms, input_tokens, output_tokens, cache_read_tokens,
           cache_write_tokens, cost_usd
    FROM n WHERE model IS NOT NULL AND own_usage
    UNION ALL
    SELECT 'tool', agent, agent_id, tool_name, failed, duration_ms, NULL, NULL, NULL, NULL, NULL
    FROM n WHERE node_type = 'tool'
),
b AS (
    SELECT facet, agent, agent_id, name, duration_bucket(duration_ms) AS bucket,
           count(*) AS calls, count(*) FILTER (failed) AS errors, sum(duration_ms) AS duration_ms,
           sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
           sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
           sum(cost_usd) AS cost_usd
    FROM facets
    GROUP BY ALL
)
SELECT facet, agent, agent_id, name,
       sum(calls)::BIGINT AS calls,
       sum(errors)::BIGINT AS errors,
       sum(duration_ms) AS duration_ms,
       coalesce(sum(input_tokens), 0)::HUGEINT AS input_tokens,
       coalesce(sum(output_tokens), 0)::HUGEINT AS output_tokens,
       coalesce(sum(cache_read_tokens), 0)::HUGEINT AS cache_read_tokens,
       coalesce(sum(cache_write_tokens), 0)::HUGEINT AS cache_write_tokens,
       coalesce(sum(cost_usd), 0)::DECIMAL(38, 12) AS cost_usd,
       list({'bucket': bucket, 'n': calls::INTEGER}) AS histogram
FROM b
GROUP BY facet, agent, agent_id, name
