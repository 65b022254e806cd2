-- The tenants with runs since $since, busiest first: whose metrics a warm-up computes.
SELECT tenant_id
FROM run_rollups
WHERE started_ns >= $since::UBIGINT
GROUP BY tenant_id
ORDER BY count(*) DESC, tenant_id
LIMIT $limit
