-- The models of the model calls started since $since (those a run's models
-- count: own usage, not agent or chain spans), each with its number of calls,
-- most first. By the spans' own starts: a call of a run that started just
-- before $since counts, one of a run that started after does. A user-bound
-- caller counts the calls of its user's runs only (facet_models_filter.sql).
SELECT model, count(*) AS calls
FROM stored_spans
WHERE tenant_id = $tenant
  AND start_time_unix_nano >= $since::UBIGINT
  AND model IS NOT NULL
  AND own_usage(node_type, usage_aggregated)
{facet_models_filter}
GROUP BY model
ORDER BY calls DESC, model
LIMIT $top
