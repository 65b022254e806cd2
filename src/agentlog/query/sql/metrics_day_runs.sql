-- Metrics partials of the runs started in [$low_ns, $high_ns)
-- whose last commit is in [$low_seq, $high_seq], per agent:
-- counts and sums, and the durations as a histogram (durations.sql), so that
-- the partials of different days add up (metrics_runs.sql).
WITH r AS (
    SELECT agent, agent_id, status, total_tokens, cost_usd,
           elapsed_ms(started_ns, ended_ns) AS duration_ms
    FROM run_summaries
    WHERE tenant_id = $tenant
      AND ($user_scope IS NULL OR user_id = $user_scope)
      AND started_ns >= $low_ns::UBIGINT AND started_ns < $high_ns::UBIGINT
      AND commit_seq BETWEEN $low_seq AND $high_seq
),
b AS (
    SELECT agent, agent_id, duration_bucket(duration_ms) AS bucket,
           count(*) AS runs,
           count(*) FILTER (status = 'failed') AS failed_runs,
           count(*) FILTER (status = 'success') AS successful_runs,
           count(duration_ms) AS durations,
           sum(duration_ms) AS duration_ms,
           count(total_tokens) AS token_runs,
           sum(total_tokens) AS total_tokens,
           count(cost_usd) AS cost_runs,
           sum(cost_usd) AS cost_usd
    FROM r
    GROUP BY agent, agent_id, bucket
)
SELECT agent, agent_id,
       sum(runs)::BIGINT AS runs,
       sum(failed_runs)::BIGINT AS failed_runs,
       sum(successful_runs)::BIGINT AS successful_runs,
       sum(durations)::BIGINT AS durations,
       coalesce(sum(duration_ms), 0) AS duration_ms,
       sum(token_runs)::BIGINT AS token_runs,
       coalesce(sum(total_tokens), 0)::HUGEINT AS total_tokens,
       sum(cost_runs)::BIGINT AS cost_runs,
       coalesce(sum(cost_usd), 0)::DECIMAL(38, 12) AS cost_usd,
       coalesce(list({'bucket': bucket, 'n': durations::INTEGER}) FILTER (durations > 0), []) AS histogram
FROM b
GROUP BY agent, agent_id
