-- Per agent over a window, from the day partials of its runs (run_days,
-- metrics_day_runs.sql): run counts, durations, tokens and cost per run.
-- Cost is over the runs whose cost is known: NULL (unknown, never 0) when none is.
SELECT
    agent,
    sum(runs)::BIGINT AS runs,
    sum(failed_runs)::BIGINT AS failed_runs,
    sum(successful_runs)::BIGINT AS successful_runs,
    sum(duration_ms) / nullif(sum(durations), 0) AS avg_duration_ms,
    sum(total_tokens) / nullif(sum(token_runs), 0) AS tokens_per_run,
    sum(cost_usd) / nullif(sum(cost_runs), 0) AS cost_per_run_usd,
    sum(total_tokens) AS total_tokens,
    CASE WHEN sum(cost_runs) > 0 THEN sum(cost_usd) END AS cost_usd
FROM run_days
WHERE $agent IS NULL OR agent = $agent OR agent_id = $agent
GROUP BY agent
ORDER BY runs DESC, agent
