-- A lake's upkeep (agentlog.store.upkeep): how often it runs, how long
-- snapshots are kept, and what the last pass did. One row, made here (a lake
-- gets it with its schema); replaced whole by delete and insert in one
-- transaction, never added to (a lake has no keys).
--
-- every_seconds and keep_snapshots_seconds NULL: each server's own default
-- (--upkeep-every, --upkeep-keep-snapshots). every_seconds 0: no scheduled
-- passes. last_started_at is also the claim: a process starts a pass only
-- after committing it, so two processes' claims conflict and one skips.
-- On a DuckDB file the row is there but nothing reads it: upkeep is a lake's.
CREATE TABLE lake_upkeep (
    every_seconds          INTEGER,
    keep_snapshots_seconds INTEGER,
    updated_at             TIMESTAMPTZ,
    last_started_at        TIMESTAMPTZ,
    last_finished_at       TIMESTAMPTZ,
    last_by                VARCHAR,
    last_rows_flushed      BIGINT,
    last_files_merged      BIGINT,
    last_files_written     BIGINT,
    last_snapshots_expired BIGINT,
    last_files_deleted     BIGINT,
    last_orphans_deleted   BIGINT,
    last_error             VARCHAR
);
INSERT INTO lake_upkeep (every_seconds) VALUES (NULL);
