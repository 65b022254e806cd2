-- A session's runs, oldest first, as the caller may see them (tenant, and
-- user for a user-bound key).
SELECT
{run_columns}
FROM run_rollups
WHERE tenant_id = $tenant
  AND "session".id = $session
  AND ($user_scope IS NULL OR "user".id = $user_scope)
ORDER BY started_ns, trace_id
LIMIT $limit
