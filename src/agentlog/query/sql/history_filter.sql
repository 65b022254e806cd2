-- The runs a history listing shows, shared by history.sql and history_bound.sql
-- (history.py puts it in both). The first two conditions always apply. Each
-- line after them is one filter, put in only when its parameters are given:
-- DuckDB plans every condition of a WHERE, given or not (~0.4 ms a statement
-- for the unused ones). started_ns >= from_ns bounds the scan to recent row
-- groups (zone maps on started_ns); after_ns and after_trace are the last run
-- of the previous page (keyset paging). model: one of the models of the run's
-- model calls (the roll-up's models); q: lower-case text, found in the run's
-- whole input or output, lower-cased (a scan of those texts: no index).
WHERE tenant_id = $tenant
  AND started_ns >= $from_ns::UBIGINT
  AND "user".id = $user_scope
  AND (run_agent(root, agent, service) = $agent OR agent.id = $agent)
  AND "user".id = $user
  AND "session".id = $session
  AND run_status(root, last_node) = $status
  AND started_ns >= $since::UBIGINT
  AND started_ns < $until::UBIGINT
  AND (started_ns < $after_ns::UBIGINT OR (started_ns = $after_ns::UBIGINT AND trace_id < $after_trace::UUID))
  AND list_contains(models, $model)
  AND (contains(lower(run_input(root, agent)), $q) OR contains(lower(run_output(root, agent)), $q))
