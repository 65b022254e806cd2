-- The nodes of a page only (run_nodes.sql): $ids, their decimal span ids,
-- comma-separated (one string: binding a list of 1,000 values costs more than
-- the query). Left out for a whole run: even with $ids NULL, DuckDB plans the
-- semi-join, ~1 ms of a 1,000-node run's 14.
  AND span_id IN (SELECT unnest(string_split($ids, ','))::UBIGINT)
