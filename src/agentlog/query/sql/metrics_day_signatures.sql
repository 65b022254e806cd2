-- What the kept partials of each UTC day from $from_ns on depend on: that
-- day's runs committed up to $cut (see metric_days.py), their newest commit
-- (a change to a run moves its commit_seq past every earlier one) and their
-- costs (repricing changes costs, not commit_seq). Equal signatures, equal
-- partials. Also per day: the runs committed after $cut, and the newest commit.
SELECT started_ns // 86400000000000 AS day,
       count(*) FILTER (commit_seq <= $cut) AS runs,
       max(commit_seq) FILTER (commit_seq <= $cut) AS last_seq,
       sum(cost_usd) FILTER (commit_seq <= $cut) AS cost_usd,
       sum(fallback_cost_usd) FILTER (commit_seq <= $cut) AS fallback_cost_usd,
       count(*) FILTER (commit_seq > $cut) AS fresh_runs,
       max(commit_seq) AS newest_seq
FROM run_rollups
WHERE tenant_id = $tenant
  AND ($user_scope IS NULL OR "user".id = $user_scope)
  AND started_ns >= $from_ns::UBIGINT
GROUP BY day
ORDER BY day
