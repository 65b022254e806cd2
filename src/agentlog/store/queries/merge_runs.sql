-- Fold batch_runs (fold_runs.sql) into the runs already stored: known_runs
-- holds their rowids, found in this transaction (the writer is the only one
-- writing run_rollups). Each column merges as the run model says: counts and
-- sums add, started_ns and first_seq take the minimum, each STRUCT the least
-- (or, for last_node, the greatest) of the two. `models` is left to
-- merge_models.sql: updating a LIST column rewrites the whole row.
UPDATE run_rollups SET
    root = least(run_rollups.root, b.root),
    agent = least(run_rollups.agent, b.agent),
    service = least(run_rollups.service, b.service),
    "user" = least(run_rollups."user", b."user"),
    "session" = least(run_rollups."session", b."session"),
    first_error = least(run_rollups.first_error, b.first_error),
    last_node = greatest(run_rollups.last_node, b.last_node),
    started_ns = least(run_rollups.started_ns, b.started_ns),
    span_count = run_rollups.span_count + b.span_count,
    node_count = run_rollups.node_count + b.node_count,
    failed_nodes = run_rollups.failed_nodes + b.failed_nodes,
    input_tokens = run_rollups.input_tokens + b.input_tokens,
    output_tokens = run_rollups.output_tokens + b.output_tokens,
    cache_read_tokens = run_rollups.cache_read_tokens + b.cache_read_tokens,
    reasoning_tokens = run_rollups.reasoning_tokens + b.reasoning_tokens,
    total_tokens = run_rollups.total_tokens + b.total_tokens,
    cost_usd = run_rollups.cost_usd + b.cost_usd,
    reported_cost_nodes = run_rollups.reported_cost_nodes + b.reported_cost_nodes,
    computed_cost_nodes = run_rollups.computed_cost_nodes + b.computed_cost_nodes,
    unknown_cost_nodes = run_rollups.unknown_cost_nodes + b.unknown_cost_nodes,
    commit_seq = b.commit_seq,
    first_seq = least(run_rollups.first_seq, b.first_seq),
    usage_spans = run_rollups.usage_spans + b.usage_spans,
    fallback_input_tokens = run_rollups.fallback_input_tokens + b.fallback_input_tokens,
    fallback_output_tokens = run_rollups.fallback_output_tokens + b.fallback_output_tokens,
    fallback_cache_read_tokens = run_rollups.fallback_cache_read_tokens + b.fallback_cache_read_tokens,
    fallback_reasoning_tokens = run_rollups.fallback_reasoning_tokens + b.fallback_reasoning_tokens,
    fallback_total_tokens = run_rollups.fallback_total_tokens + b.fallback_total_tokens,
    fallback_cost_usd = run_rollups.fallback_cost_usd + b.fallback_cost_usd,
    fallback_reported_cost_nodes = run_rollups.fallback_reported_cost_nodes + b.fallback_reported_cost_nodes,
    fallback_computed_cost_nodes = run_rollups.fallback_computed_cost_nodes + b.fallback_computed_cost_nodes,
    fallback_unknown_cost_nodes = run_rollups.fallback_unknown_cost_nodes + b.fallback_unknown_cost_nodes
FROM (SELECT k.row_id, b.* FROM known_runs k JOIN batch_runs b USING (tenant_id, trace_id)) b
WHERE run_rollups.rowid = b.row_id
