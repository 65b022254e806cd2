-- A run's fields as people read them, from a run_rollups row, by the macros
-- of run_fields.sql: a fragment, not a view. The run_summaries view puts it
-- in its select list (create_views), and so do the history's and the logs'
-- statements (query/history.py read_sql), which read run_rollups itself:
-- through the view DuckDB binds all of its columns for every statement.
    trace_hex(trace_id) AS run_id,
    run_status(root, last_node) AS status,
    run_agent(root, agent, service) AS agent,
    "user".id AS user_id,
    "session".id AS session_id,
    run_input(root, agent) AS input,
    run_output(root, agent) AS output,
    started_ns,
    run_ended_ns(root, started_ns) AS ended_ns,
    node_count,
    node_count - failed_nodes AS successful_nodes,
    failed_nodes,
    run_usage(usage_spans, input_tokens, fallback_input_tokens) AS input_tokens,
    run_usage(usage_spans, output_tokens, fallback_output_tokens) AS output_tokens,
    run_usage(usage_spans, cache_read_tokens, fallback_cache_read_tokens) AS cache_read_tokens,
    run_usage(usage_spans, cache_write_tokens, fallback_cache_write_tokens) AS cache_write_tokens,
    run_usage(usage_spans, reasoning_tokens, fallback_reasoning_tokens) AS reasoning_tokens,
    run_usage(usage_spans, total_tokens, fallback_total_tokens) AS total_tokens,
    run_cost(
        run_usage(usage_spans, cost_usd, fallback_cost_usd),
        run_usage(usage_spans, reported_cost_nodes, fallback_reported_cost_nodes),
        run_usage(usage_spans, computed_cost_nodes, fallback_computed_cost_nodes)
    ) AS cost_usd,
    run_cost_source(
        run_usage(usage_spans, reported_cost_nodes, fallback_reported_cost_nodes),
        run_usage(usage_spans, computed_cost_nodes, fallback_computed_cost_nodes),
        run_usage(usage_spans, unknown_cost_nodes, fallback_unknown_cost_nodes)
    ) AS cost_source,
    models,
    first_error.node AS error_node,
    first_error.type AS error_type,
    first_error.message AS error_message
