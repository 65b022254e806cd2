-- The one statement of how roll-up rows of one run merge into one (the run
-- model): counts and sums add, started_ns and first_seq take the minimum,
-- commit_seq the maximum, each STRUCT the least (last_node the greatest),
-- models the sorted union. The FROM names the rows to merge (in
-- run_compacted's columns), put in by store.rollups.merge_rollups: the view
-- run_rollups (views/run_rollups.sql) and the compactor (store/rollups.py)
-- both use this file. min/max of a STRUCT order as least/greatest do, and
-- skip NULLs as they do.
-- started_ns comes first, on the keys alone (run_starts), and is a grouping
-- key of the merge: a filter on it (the history's window, stats' days) then
-- reaches below the wide aggregate, which merges only the runs it keeps
-- (a history page over 5,000 runs with partials: ~190 -> ~105 ms). The join's
-- r.started_ns >= s.started_ns (true of every row of a run) lets DuckDB carry
-- that filter down to the tables' scans too, whose zone maps then skip the
-- older row groups (~105 -> ~70 ms). NOT MATERIALIZED: a materialized
-- run_rows copied every wide row first.
WITH run_rows AS NOT MATERIALIZED {rollups},
run_starts AS (
    SELECT tenant_id, trace_id, min(started_ns) AS started_ns FROM run_rows GROUP BY tenant_id, trace_id
)
SELECT
    s.tenant_id AS tenant_id,
    s.trace_id AS trace_id,
    min(root) AS root,
    min(agent) AS agent,
    min(service) AS service,
    min("user") AS "user",
    min("session") AS "session",
    min(first_error) AS first_error,
    max(last_node) AS last_node,
    s.started_ns AS started_ns,
    sum(span_count)::BIGINT AS span_count,
    sum(node_count)::BIGINT AS node_count,
    sum(failed_nodes)::BIGINT AS failed_nodes,
    sum(input_tokens)::BIGINT AS input_tokens,
    sum(output_tokens)::BIGINT AS output_tokens,
    sum(cache_read_tokens)::BIGINT AS cache_read_tokens,
    sum(reasoning_tokens)::BIGINT AS reasoning_tokens,
    sum(total_tokens)::BIGINT AS total_tokens,
    sum(cost_usd)::DECIMAL(38, 12) AS cost_usd,
    sum(reported_cost_nodes)::BIGINT AS reported_cost_nodes,
    sum(computed_cost_nodes)::BIGINT AS computed_cost_nodes,
    sum(unknown_cost_nodes)::BIGINT AS unknown_cost_nodes,
    list_sort(list_distinct(flatten(list(models)))) AS models,
    max(commit_seq) AS commit_seq,
    min(first_seq) AS first_seq,
    sum(usage_spans)::BIGINT AS usage_spans,
    sum(fallback_input_tokens)::BIGINT AS fallback_input_tokens,
    sum(fallback_output_tokens)::BIGINT AS fallback_output_tokens,
    sum(fallback_cache_read_tokens)::BIGINT AS fallback_cache_read_tokens,
    sum(fallback_reasoning_tokens)::BIGINT AS fallback_reasoning_tokens,
    sum(fallback_total_tokens)::BIGINT AS fallback_total_tokens,
    sum(fallback_cost_usd)::DECIMAL(38, 12) AS fallback_cost_usd,
    sum(fallback_reported_cost_nodes)::BIGINT AS fallback_reported_cost_nodes,
    sum(fallback_computed_cost_nodes)::BIGINT AS fallback_computed_cost_nodes,
    sum(fallback_unknown_cost_nodes)::BIGINT AS fallback_unknown_cost_nodes,
    -- Last, as migration 0016 added them to the tables (the view run_rollups unions by position).
    sum(cache_write_tokens)::BIGINT AS cache_write_tokens,
    sum(fallback_cache_write_tokens)::BIGINT AS fallback_cache_write_tokens
FROM run_starts s
JOIN run_rows r ON r.tenant_id = s.tenant_id AND r.trace_id = s.trace_id AND r.started_ns >= s.started_ns
GROUP BY s.tenant_id, s.trace_id, s.started_ns
