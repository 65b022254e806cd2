-- Every run's roll-up: run_compacted merged with the partials written since
-- (migration 0015), by the rules of queries/merge_rollups.sql. A run without
-- partials is its compacted row as it is, so filters on its columns (tenant,
-- started_ns) reach the table's scan and its zone maps; only the runs with
-- partials are merged. The result never depends on whether compaction ran.
CREATE OR REPLACE VIEW run_rollups AS
SELECT c.*
FROM run_compacted c
ANTI JOIN run_partials p ON p.tenant_id = c.tenant_id AND p.trace_id = c.trace_id
UNION ALL
SELECT * FROM (
{merge_rollups}
);
