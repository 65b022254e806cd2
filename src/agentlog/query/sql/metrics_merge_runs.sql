-- Many run partials (run_days) as one, of the same shape: sums add up, histograms add counts per bucket.
WITH keyed AS (
    SELECT dense_rank() OVER (ORDER BY agent, agent_id) AS k, * FROM run_days
),
sums AS (
    SELECT k, any_value(agent) AS agent, any_value(agent_id) AS agent_id,
           sum(runs)::BIGINT AS runs,
           sum(failed_runs)::BIGINT AS failed_runs,
           sum(successful_runs)::BIGINT AS successful_runs,
           sum(durations)::BIGINT AS durations,
           sum(duration_ms) AS duration_ms,
           sum(token_runs)::BIGINT AS token_runs,
           sum(total_tokens)::HUGEINT AS total_tokens,
           sum(cost_runs)::BIGINT AS cost_runs,
           sum(cost_usd)::DECIMAL(38, 12) AS cost_usd
    FROM keyed
    GROUP BY k
),
buckets AS (
    SELECT k, e.bucket AS bucket, sum(e.n)::INTEGER AS n
    FROM (SELECT k, unnest(histogram) AS e FROM keyed)
    GROUP BY k, bucket
),
histograms AS (
    SELECT k, list({'bucket': bucket, 'n': n}) AS histogram FROM buckets GROUP BY k
)
SELECT agent, agent_id, runs, failed_runs, successful_runs, durations, duration_ms, token_runs, total_tokens,
       cost_runs, cost_usd,
       coalesce(h.histogram, []) AS histogram
FROM sums LEFT JOIN histograms h USING (k)
