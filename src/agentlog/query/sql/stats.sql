-- Run statistics over a window, optionally for one user: totals, then one row per day.
WITH r AS (
    SELECT status, started_ns, ended_ns, total_tokens, input_tokens, output_tokens, cache_read_tokens,
           cache_write_tokens, cost_usd,
           elapsed_ms(started_ns, ended_ns) AS duration_ms,
           make_timestamp((started_ns // 1000)::BIGINT)::DATE AS day
    FROM run_summaries
    WHERE tenant_id = $tenant
      AND ($user_scope IS NULL OR user_id = $user_scope)
      AND ($user IS NULL OR user_id = $user)
      AND ($agent IS NULL OR agent = $agent OR agent_id = $agent)
      AND started_ns >= $since::UBIGINT
)
SELECT
    GROUPING(day) = 1 AS is_total,
    day,
    count(*) AS runs,
    count(*) FILTER (status = 'success') AS successful_runs,
    count(*) FILTER (status = 'failed') AS failed_runs,
    count(*) FILTER (status = 'running') AS running_runs,
    avg(duration_ms) AS avg_duration_ms,
    quantile_cont(duration_ms, 0.95) AS p95_duration_ms,
    coalesce(sum(input_tokens), 0) AS input_tokens,
    coalesce(sum(output_tokens), 0) AS output_tokens,
    coalesce(sum(cache_read_tokens), 0) AS cache_read_tokens,
    coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
    coalesce(sum(total_tokens), 0) AS total_tokens,
    coalesce(sum(cost_usd), 0) AS cost_usd
FROM r
GROUP BY GROUPING SETS ((), (day))
ORDER BY is_total DESC, day
