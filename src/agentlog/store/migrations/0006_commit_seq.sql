-- Which writer transaction stored a row. Commits append in order, so DuckDB's
-- zone maps on commit_seq are tight: a run's spans are found by scanning only
-- the row groups between the run's first and last commit (runs.first_seq ..
-- runs.commit_seq) instead of the whole table. Live updates resume from it.
ALTER TABLE spans ADD COLUMN commit_seq BIGINT;
ALTER TABLE pending_spans ADD COLUMN commit_seq BIGINT;
ALTER TABLE runs ADD COLUMN first_seq BIGINT;
UPDATE runs SET first_seq = commit_seq WHERE first_seq IS NULL;
