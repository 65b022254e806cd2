-- The nice names go to analysts. The tables become stored_spans and
-- run_rollups (internal: integer ids, partial aggregates); the documented,
-- stable views are spans, nodes, runs and agents (hex ids, timestamps,
-- statuses). run_summaries stays the read side's internal view.
DROP VIEW IF EXISTS run_summaries;  -- re-created from store/views/ after the migrations
ALTER TABLE spans RENAME TO stored_spans;
ALTER TABLE runs RENAME TO run_rollups;
