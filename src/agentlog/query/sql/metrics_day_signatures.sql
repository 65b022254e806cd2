-- What a day's metrics partials depend on, per UTC day from $from_ns on: the
-- day's runs, their newest commit (every span folded into a run moves its
-- commit_seq) and their costs (repricing changes costs, not commit_seq). A day
-- whose signature is unchanged has unchanged partials.
SELECT started_ns // 86400000000000 AS day, count(*) AS runs, max(commit_seq) AS last_seq,
       sum(cost_usd) AS cost_usd, sum(fallback_cost_usd) AS fallback_cost_usd
FROM run_rollups
WHERE tenant_id = $tenant
  AND ($user_scope IS NULL OR "user".id = $user_scope)
  AND started_ns >= $from_ns::UBIGINT
GROUP BY day
ORDER BY day
