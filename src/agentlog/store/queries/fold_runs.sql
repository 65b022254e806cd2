-- Fold the spans and markers of one transaction into `runs`.
-- span_batch: the spans this transaction inserted (duplicates already dropped)
-- and, where is_pending, its live-status markers. $1: its commit_seq.
-- A marker shares its key with the span it announces; `marker` (false < true)
-- lets the real span's values win over the marker's. Within the batch each
-- STRUCT is picked by arg_min on its leading fields alone (comparing whole
-- structs would build sort keys of their texts: most of the fold's time); the
-- merge with the stored run compares whole structs, which orders them the same.
-- Usage and cost add up over spans whose usage is their own (own_usage); on
-- agent and chain spans it goes to the fallback_* columns, which a run uses
-- only when no other span reports usage (migration 0008); aggregated usage
-- (gen_ai.aggregated_usage.*) never counts.
INSERT INTO run_rollups
WITH source AS (
    SELECT tenant_id, (trace_id_hi::UHUGEINT << 64) | trace_id_lo AS trace_id, span_id, parent_span_id, name,
           start_time_unix_nano, end_time_unix_nano,
           status_code, status_message, service_name, node_type, agent_name, agent_id, model,
           input_tokens, output_tokens, cache_read_tokens, reasoning_tokens, total_tokens,
           usage_aggregated, cost_usd, cost_source, input, output, user_id, session_id,
           error_type, error_message, false AS is_marker
    FROM span_batch
    WHERE NOT is_pending
    UNION ALL
    SELECT tenant_id, (trace_id_hi::UHUGEINT << 64) | trace_id_lo AS trace_id, span_id, parent_span_id, name,
           start_time_unix_nano, NULL, 0, NULL, service_name, node_type, agent_name, agent_id, NULL,
           NULL, NULL, NULL, NULL, NULL,
           false, NULL, NULL, input, NULL, user_id, session_id,
           NULL, NULL, true
    FROM span_batch
    WHERE is_pending
),
keyed AS (
    SELECT *,
        (start_time_unix_nano::UHUGEINT << 64) | span_id AS start_key,
        (end_time_unix_nano::UHUGEINT << 64) | span_id AS end_key,
        {'key': start_key, 'marker': is_marker} AS marked_key,
        NOT is_marker AND parent_span_id IS NULL AS is_root,
        NOT is_marker AND parent_span_id IS NOT NULL AS is_node,
        NOT is_marker AND own_usage(node_type, usage_aggregated) AS own_usage,
        NOT is_marker AND fallback_usage(node_type, usage_aggregated) AS fallback_usage
    FROM source
)
SELECT
    tenant_id,
    trace_id,
    arg_min({'key': start_key, 'span_id': span_id, 'name': name, 'status_code': status_code,
             'status_message': status_message, 'agent_name': agent_name, 'input': input, 'output': output,
             'end_ns': end_time_unix_nano}, start_key) FILTER (is_root),
    arg_min({'key': start_key, 'marker': is_marker, 'name': agent_name, 'id': agent_id, 'input': input,
             'output': output}, marked_key) FILTER (agent_name IS NOT NULL),
    arg_min({'key': start_key, 'marker': is_marker, 'name': service_name}, marked_key) FILTER (service_name IS NOT NULL),
    arg_min({'key': start_key, 'marker': is_marker, 'id': user_id}, marked_key) FILTER (user_id IS NOT NULL),
    arg_min({'key': start_key, 'marker': is_marker, 'id': session_id}, marked_key) FILTER (session_id IS NOT NULL),
    arg_min({'key': end_key, 'span_id': span_id, 'node': name, 'type': coalesce(error_type, 'error'),
             'message': error_message}, end_key) FILTER (NOT is_marker AND status_code = 2),
    max({'key': end_key, 'failed': status_code = 2}) FILTER (is_node),
    min(start_time_unix_nano),
    count(*) FILTER (NOT is_marker),
    count(*) FILTER (is_node),
    count(*) FILTER (is_node AND status_code = 2),
    coalesce(sum(input_tokens) FILTER (own_usage), 0),
    coalesce(sum(output_tokens) FILTER (own_usage), 0),
    coalesce(sum(cache_read_tokens) FILTER (own_usage), 0),
    coalesce(sum(reasoning_tokens) FILTER (own_usage), 0),
    coalesce(sum(total_tokens) FILTER (own_usage), 0),
    coalesce(sum(cost_usd) FILTER (own_usage), 0),
    count(*) FILTER (own_usage AND cost_source = 'reported'),
    count(*) FILTER (own_usage AND cost_source = 'computed'),
    count(*) FILTER (own_usage AND cost_source = 'unknown'),
    coalesce(list_sort(list_distinct(list(model) FILTER (own_usage AND model IS NOT NULL))), []),
    $1,
    $1,
    count(*) FILTER (own_usage AND total_tokens IS NOT NULL),
    coalesce(sum(input_tokens) FILTER (fallback_usage), 0),
    coalesce(sum(output_tokens) FILTER (fallback_usage), 0),
    coalesce(sum(cache_read_tokens) FILTER (fallback_usage), 0),
    coalesce(sum(reasoning_tokens) FILTER (fallback_usage), 0),
    coalesce(sum(total_tokens) FILTER (fallback_usage), 0),
    coalesce(sum(cost_usd) FILTER (fallback_usage), 0),
    count(*) FILTER (fallback_usage AND cost_source = 'reported'),
    count(*) FILTER (fallback_usage AND cost_source = 'computed'),
    count(*) FILTER (fallback_usage AND cost_source = 'unknown')
FROM keyed
GROUP BY tenant_id, trace_id
ON CONFLICT (tenant_id, trace_id) DO UPDATE SET
    root = least(run_rollups.root, excluded.root),
    agent = least(run_rollups.agent, excluded.agent),
    service = least(run_rollups.service, excluded.service),
    "user" = least(run_rollups."user", excluded."user"),
    "session" = least(run_rollups."session", excluded."session"),
    first_error = least(run_rollups.first_error, excluded.first_error),
    last_node = greatest(run_rollups.last_node, excluded.last_node),
    started_ns = least(run_rollups.started_ns, excluded.started_ns),
    span_count = run_rollups.span_count + excluded.span_count,
    node_count = run_rollups.node_count + excluded.node_count,
    failed_nodes = run_rollups.failed_nodes + excluded.failed_nodes,
    input_tokens = run_rollups.input_tokens + excluded.input_tokens,
    output_tokens = run_rollups.output_tokens + excluded.output_tokens,
    cache_read_tokens = run_rollups.cache_read_tokens + excluded.cache_read_tokens,
    reasoning_tokens = run_rollups.reasoning_tokens + excluded.reasoning_tokens,
    total_tokens = run_rollups.total_tokens + excluded.total_tokens,
    cost_usd = run_rollups.cost_usd + excluded.cost_usd,
    reported_cost_nodes = run_rollups.reported_cost_nodes + excluded.reported_cost_nodes,
    computed_cost_nodes = run_rollups.computed_cost_nodes + excluded.computed_cost_nodes,
    unknown_cost_nodes = run_rollups.unknown_cost_nodes + excluded.unknown_cost_nodes,
    models = list_sort(list_distinct(list_concat(run_rollups.models, excluded.models))),
    commit_seq = excluded.commit_seq,
    first_seq = least(run_rollups.first_seq, excluded.first_seq),
    usage_spans = run_rollups.usage_spans + excluded.usage_spans,
    fallback_input_tokens = run_rollups.fallback_input_tokens + excluded.fallback_input_tokens,
    fallback_output_tokens = run_rollups.fallback_output_tokens + excluded.fallback_output_tokens,
    fallback_cache_read_tokens = run_rollups.fallback_cache_read_tokens + excluded.fallback_cache_read_tokens,
    fallback_reasoning_tokens = run_rollups.fallback_reasoning_tokens + excluded.fallback_reasoning_tokens,
    fallback_total_tokens = run_rollups.fallback_total_tokens + excluded.fallback_total_tokens,
    fallback_cost_usd = run_rollups.fallback_cost_usd + excluded.fallback_cost_usd,
    fallback_reported_cost_nodes = run_rollups.fallback_reported_cost_nodes + excluded.fallback_reported_cost_nodes,
    fallback_computed_cost_nodes = run_rollups.fallback_computed_cost_nodes + excluded.fallback_computed_cost_nodes,
    fallback_unknown_cost_nodes = run_rollups.fallback_unknown_cost_nodes + excluded.fallback_unknown_cost_nodes
