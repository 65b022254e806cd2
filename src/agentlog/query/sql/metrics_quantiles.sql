-- Duration quantiles p50, p95, p99 per agent ('run') and per agent and facet,
-- from the day partials' histograms (durations.sql) merged by adding counts:
-- each is interpolated between the two durations that bracket rank q (n - 1),
-- as quantile_cont interpolates between the exact ones, and within 2 % of it.
WITH partials AS (
    SELECT 'run' AS facet, agent, NULL::VARCHAR AS name, histogram
    FROM run_days WHERE $agent IS NULL OR agent = $agent OR agent_id = $agent
    UNION ALL
    SELECT facet, agent, name, histogram
    FROM node_days WHERE $agent IS NULL OR agent = $agent OR agent_id = $agent
),
-- Merging on a number rather than on three strings: a few times faster.
keyed AS (
    SELECT dense_rank() OVER (ORDER BY facet, agent, name) AS k, * FROM partials
),
merged AS (
    SELECT k, e.bucket AS bucket, sum(e.n)::BIGINT AS n
    FROM (SELECT k, unnest(histogram) AS e FROM keyed)
    GROUP BY k, bucket
),
cumulative AS (
    -- As DOUBLE: a sum of integers is a HUGEINT, and the ranks' arithmetic on it was most of this statement.
    SELECT *, (sum(n) OVER (PARTITION BY k ORDER BY bucket))::DOUBLE AS upto,
              (sum(n) OVER (PARTITION BY k))::DOUBLE AS total
    FROM merged
),
-- The buckets of the durations at ranks floor(q (n - 1)) and ceil(q (n - 1)).
brackets AS (
    SELECT k, any_value(total) AS total,
           min(bucket) FILTER (upto > floor(0.50 * (total - 1))) AS low50,
           min(bucket) FILTER (upto > ceil(0.50 * (total - 1))) AS high50,
           min(bucket) FILTER (upto > floor(0.95 * (total - 1))) AS low95,
           min(bucket) FILTER (upto > ceil(0.95 * (total - 1))) AS high95,
           min(bucket) FILTER (upto > floor(0.99 * (total - 1))) AS low99,
           min(bucket) FILTER (upto > ceil(0.99 * (total - 1))) AS high99
    FROM cumulative
    GROUP BY k
)
SELECT facet, agent, name,
       [interpolated_duration(low50, high50, 0.50 * (total - 1)),
        interpolated_duration(low95, high95, 0.95 * (total - 1)),
        interpolated_duration(low99, high99, 0.99 * (total - 1))] AS quantiles
FROM (SELECT DISTINCT k, facet, agent, name FROM keyed) JOIN brackets USING (k)
