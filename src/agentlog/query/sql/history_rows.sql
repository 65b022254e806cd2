-- The rows of the runs history_sorted.sql chose: each named by its start and
-- id, bound one parameter each ({starts}, {traces}: $s0, $s1, ... and $t0,
-- $t1, ...) so that DuckDB reads them as constant lists and its zone maps on
-- started_ns skip the row groups that hold none of them (a list from a
-- subquery is a join, and reads every row group: 2x slower).
SELECT
{run_columns},
    trace_id AS run_key
FROM run_rollups
WHERE tenant_id = $tenant
  AND started_ns IN ({starts})
  AND trace_id IN ({traces})
