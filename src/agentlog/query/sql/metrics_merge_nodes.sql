-- Many node partials (node_days) as one, of the same shape: sums add up, histograms add counts per bucket.
WITH keyed AS (
    SELECT dense_rank() OVER (ORDER BY facet, agent, agent_id, name) AS k, * FROM node_days
),
sums AS (
    SELECT k, any_value(facet) AS facet, any_value(agent) AS agent, any_value(agent_id) AS agent_id,
           any_value(name) AS name,
           sum(calls)::BIGINT AS calls,
           sum(errors)::BIGINT AS errors,
           sum(duration_ms) AS duration_ms,
           sum(input_tokens)::HUGEINT AS input_tokens,
           sum(output_tokens)::HUGEINT AS output_tokens,
           sum(cache_read_tokens)::HUGEINT AS cache_read_tokens,
           sum(cache_write_tokens)::HUGEINT AS cache_write_tokens,
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
SELECT facet, agent, agent_id, name, calls, errors, duration_ms, input_tokens, output_tokens, cache_read_tokens,
       cache_write_tokens, cost_usd,
       h.histogram AS histogram
FROM sums LEFT JOIN histograms h USING (k)
