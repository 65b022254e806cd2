-- Which runs a history page shows: filters (NULL = no filter) and keyset
-- paging ($after_ns/$after_trace: the last run of the previous page) over
-- run_rollups' narrow columns, before any summary is built. $from_ns bounds
-- the scan to recent row groups (zone maps on started_ns); the caller widens
-- it until the page is full. The id comes back in halves: DuckDB turns a
-- UHUGEINT into text or a Python int through a slow path (~0.1 ms a value).
SELECT (trace_id >> 64)::UBIGINT AS trace_hi, (trace_id & 18446744073709551615)::UBIGINT AS trace_lo, started_ns
FROM run_rollups
WHERE tenant_id = $tenant
  AND started_ns >= $from_ns::UBIGINT
  AND ($user_scope IS NULL OR "user".id = $user_scope)
  AND ($agent IS NULL OR run_agent(root, agent, service) = $agent OR agent.id = $agent)
  AND ($user IS NULL OR "user".id = $user)
  AND ($session IS NULL OR "session".id = $session)
  AND ($status IS NULL OR run_status(root, last_node) = $status)
  AND ($since::UBIGINT IS NULL OR started_ns >= $since::UBIGINT)
  AND ($until::UBIGINT IS NULL OR started_ns < $until::UBIGINT)
  AND ($after_ns::UBIGINT IS NULL OR started_ns < $after_ns::UBIGINT
       OR (started_ns = $after_ns::UBIGINT AND trace_id < $after_trace::UHUGEINT))
ORDER BY started_ns DESC, trace_id DESC
LIMIT $limit OFFSET $skip
