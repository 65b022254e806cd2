-- Per agent over a window, from the day partials of its runs' nodes
-- (node_days, metrics_day_nodes.sql): by node type, by model and by tool.
SELECT facet, agent, name,
       sum(calls)::BIGINT AS calls,
       sum(errors)::BIGINT AS errors,
       sum(duration_ms) / sum(calls) AS avg_duration_ms,
       sum(input_tokens) AS input_tokens,
       sum(output_tokens) AS output_tokens,
       sum(cache_read_tokens) AS cache_read_tokens,
       sum(cache_write_tokens) AS cache_write_tokens,
       sum(cost_usd) AS cost_usd
FROM node_days
WHERE $agent IS NULL OR agent = $agent OR agent_id = $agent
GROUP BY facet, agent, name
ORDER BY facet, agent, calls DESC, name
