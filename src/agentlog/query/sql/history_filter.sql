-- The runs a history listing shows, shared by history.sql and history_bound.sql
-- (history.py puts it in both): filters (NULL = no filter) and keyset paging
-- ($after_ns/$after_trace: the last run of the previous page). $from_ns bounds
-- the scan to recent row groups (zone maps on started_ns).
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
