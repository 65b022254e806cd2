-- Run roll-ups that several writers can share.
--
-- A writer no longer updates a run's roll-up in place: two writers adding
-- spans to one run would conflict ("Conflict on update") or lose an update.
-- Each commit now appends its batch's per-run rows (fold_runs.sql) to
-- run_partials, which nobody updates; the compactor (store/rollups.py) folds
-- partials into run_compacted, the table run_rollups was, and deletes exactly
-- the partials it folded (partial_id up to the largest it read). run_rollups
-- becomes a view (views/run_rollups.sql) merging the two by
-- queries/merge_rollups.sql, so reads never depend on whether compaction ran.
-- Every existing roll-up is kept, as a compacted row.
ALTER TABLE run_rollups RENAME TO run_compacted;
CREATE SEQUENCE run_partial_ids;
CREATE TABLE run_partials AS SELECT * FROM run_compacted LIMIT 0;
ALTER TABLE run_partials ADD COLUMN partial_id BIGINT DEFAULT nextval('run_partial_ids');
