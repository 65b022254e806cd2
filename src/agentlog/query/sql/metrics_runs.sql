-- Per agent over a window: run counts, durations, tokens and cost per run.
SELECT
    agent,
    count(*) AS runs,
    count(*) FILTER (status = 'failed') AS failed_runs,
    count(*) FILTER (status = 'success') AS successful_runs,
    quantile_cont((ended_ns - started_ns) / 1e6, [0.5, 0.95, 0.99]) AS duration_quantiles,
    avg((ended_ns - started_ns) / 1e6) AS avg_duration_ms,
    avg(total_tokens) AS tokens_per_run,
    avg(cost_usd) AS cost_per_run_usd,
    coalesce(sum(total_tokens), 0) AS total_tokens,
    coalesce(sum(cost_usd), 0) AS cost_usd
FROM run_summaries
WHERE tenant_id = $tenant
  AND ($user_scope IS NULL OR user_id = $user_scope)
  AND ($agent IS NULL OR agent = $agent OR agent_id = $agent)
  AND started_ns >= $since::UBIGINT
GROUP BY agent
ORDER BY runs DESC, agent
