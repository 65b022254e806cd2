-- A user-bound caller's confinement of facet_models.sql, put in only for one:
-- the runs of that user (a span has its run's user only if it carries it).
  AND trace_id IN (SELECT trace_id FROM run_rollups WHERE tenant_id = $tenant AND "user".id = $user_scope)
