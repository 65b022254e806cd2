-- The models a known run used, where this batch brings one it had not.
-- (A separate statement: DuckDB updates a LIST column by deleting and
-- re-inserting the row, which most batches need not pay for.)
UPDATE run_rollups SET models = list_sort(list_distinct(list_concat(run_rollups.models, b.models)))
FROM (SELECT k.row_id, b.models FROM known_runs k JOIN batch_runs b USING (tenant_id, trace_id)) b
WHERE run_rollups.rowid = b.row_id
  AND NOT list_has_all(run_rollups.models, b.models)
