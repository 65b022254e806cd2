-- One row per agent: how its runs went.
CREATE OR REPLACE VIEW agents AS
SELECT
    tenant_id,
    agent,
    count(*) AS runs,
    count(*) FILTER (status = 'success') AS successful_runs,
    count(*) FILTER (status = 'failed') AS failed_runs,
    count(*) FILTER (status = 'running') AS running_runs,
    avg(duration_ms) AS avg_duration_ms,
    sum(total_tokens) AS total_tokens,
    sum(cost_usd) AS cost_usd,
    min(started_at) AS first_run_at,
    max(started_at) AS last_run_at
FROM runs
GROUP BY tenant_id, agent;
