-- The run roll-ups of one transaction's spans and markers, one row per run,
-- appended to run_partials straight from the aggregate (the view run_rollups
-- merges them by merge_rollups.sql, and store/rollups.py compacts them).
-- span_batch: the spans this transaction inserted (duplicates already dropped)
-- and, where is_pending, its live-status markers. $1: its commit_seq, which is
-- also each row's partial_id (the compactor folds every partial its snapshot
-- sees, up to the largest: on a lake several writers' ids interleave).
-- A marker shares its key with the span it announces; `marker` (false < true)
-- lets the real span's values win over the marker's. Within the batch each
-- STRUCT is picked by arg_min on its leading fields alone (comparing whole
-- structs would build sort keys of their texts: most of the fold's time); the
-- merge with the run's other rows compares whole structs, which orders them the same.
-- The leading fields are 128-bit integers here, (time << 64) | span id, cheap
-- to compare; each STRUCT stores its key as the pair {ns, span}, which orders
-- the same way and is two UBIGINTs in Parquet (migration 0018).
-- Usage and cost add up over spans whose usage is their own (own_usage); on
-- agent and chain spans it goes to the fallback_* columns, which a run uses
-- only when no other span reports usage (migration 0008); aggregated usage
-- (gen_ai.aggregated_usage.*) never counts.
-- Every aggregate picks its rows with CASE, not FILTER: FILTER costs DuckDB a
-- fixed ~0.2-0.5 ms per aggregate per statement, and with 33 of them that was
-- a third of this statement on a writer's batch (a NULL argument or key is
-- skipped alike: same rows, same result).
INSERT INTO run_partials BY NAME
WITH source AS (
    SELECT tenant_id, trace_id::UUID AS trace_id, span_id, parent_span_id, name,
           start_time_unix_nano, end_time_unix_nano,
           status_code, status_message, service_name, node_type, agent_name, agent_id, model,
           input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
           usage_aggregated, cost_usd, cost_source, input, output, user_id, session_id,
           error_type, error_message, false AS is_marker
    FROM span_batch
    WHERE NOT is_pending
    UNION ALL
    SELECT tenant_id, trace_id::UUID AS trace_id, span_id, parent_span_id, name,
           start_time_unix_nano, NULL, 0, NULL, service_name, node_type, agent_name, agent_id, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL,
           false, NULL, NULL, input, NULL, user_id, session_id,
           NULL, NULL, true
    FROM span_batch
    WHERE is_pending
),
keyed AS (
    SELECT *,
        (start_time_unix_nano::UHUGEINT << 64) | span_id AS start_key,
        (end_time_unix_nano::UHUGEINT << 64) | span_id AS end_key,
        {'ns': start_time_unix_nano, 'span': span_id} AS start_pair,
        {'ns': end_time_unix_nano, 'span': span_id} AS end_pair,
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
    arg_min({'key': start_pair, 'span_id': span_id, 'name': name, 'status_code': status_code,
             'status_message': status_message, 'agent_name': agent_name, 'input': input, 'output': output,
             'end_ns': end_time_unix_nano}, CASE WHEN is_root THEN start_key END) AS root,
    arg_min({'key': start_pair, 'marker': is_marker, 'name': agent_name, 'id': agent_id, 'input': input,
             'output': output}, CASE WHEN agent_name IS NOT NULL THEN marked_key END) AS agent,
    arg_min({'key': start_pair, 'marker': is_marker, 'name': service_name}, CASE WHEN service_name IS NOT NULL THEN marked_key END) AS service,
    arg_min({'key': start_pair, 'marker': is_marker, 'id': user_id}, CASE WHEN user_id IS NOT NULL THEN marked_key END) AS "user",
    arg_min({'key': start_pair, 'marker': is_marker, 'id': session_id}, CASE WHEN session_id IS NOT NULL THEN marked_key END) AS "session",
    arg_min({'key': end_pair, 'span_id': span_id, 'node': name, 'type': coalesce(error_type, 'error'),
             'message': error_message}, CASE WHEN NOT is_marker AND status_code = 2 THEN end_key END) AS first_error,
    max(CASE WHEN is_node THEN {'key': end_pair, 'failed': status_code = 2} END) AS last_node,
    min(start_time_unix_nano) AS started_ns,
    count(CASE WHEN NOT is_marker THEN 1 END) AS span_count,
    count(CASE WHEN is_node THEN 1 END) AS node_count,
    count(CASE WHEN is_node AND status_code = 2 THEN 1 END) AS failed_nodes,
    coalesce(sum(CASE WHEN own_usage THEN input_tokens END), 0) AS input_tokens,
    coalesce(sum(CASE WHEN own_usage THEN output_tokens END), 0) AS output_tokens,
    coalesce(sum(CASE WHEN own_usage THEN cache_read_tokens END), 0) AS cache_read_tokens,
    coalesce(sum(CASE WHEN own_usage THEN cache_write_tokens END), 0) AS cache_write_tokens,
    coalesce(sum(CASE WHEN own_usage THEN reasoning_tokens END), 0) AS reasoning_tokens,
    coalesce(sum(CASE WHEN own_usage THEN total_tokens END), 0) AS total_tokens,
    coalesce(sum(CASE WHEN own_usage THEN cost_usd END), 0) AS cost_usd,
    count(CASE WHEN own_usage AND cost_source = 'reported' THEN 1 END) AS reported_cost_nodes,
    count(CASE WHEN own_usage AND cost_source = 'computed' THEN 1 END) AS computed_cost_nodes,
    count(CASE WHEN own_usage AND cost_source = 'unknown' THEN 1 END) AS unknown_cost_nodes,
    coalesce(list_sort(list_distinct(list(CASE WHEN own_usage AND model IS NOT NULL THEN model END))), []) AS models,
    $1::BIGINT AS commit_seq,
    $1::BIGINT AS first_seq,
    $1::BIGINT AS partial_id,
    count(CASE WHEN own_usage AND total_tokens IS NOT NULL THEN 1 END) AS usage_spans,
    coalesce(sum(CASE WHEN fallback_usage THEN input_tokens END), 0) AS fallback_input_tokens,
    coalesce(sum(CASE WHEN fallback_usage THEN output_tokens END), 0) AS fallback_output_tokens,
    coalesce(sum(CASE WHEN fallback_usage THEN cache_read_tokens END), 0) AS fallback_cache_read_tokens,
    coalesce(sum(CASE WHEN fallback_usage THEN cache_write_tokens END), 0) AS fallback_cache_write_tokens,
    coalesce(sum(CASE WHEN fallback_usage THEN reasoning_tokens END), 0) AS fallback_reasoning_tokens,
    coalesce(sum(CASE WHEN fallback_usage THEN total_tokens END), 0) AS fallback_total_tokens,
    coalesce(sum(CASE WHEN fallback_usage THEN cost_usd END), 0) AS fallback_cost_usd,
    count(CASE WHEN fallback_usage AND cost_source = 'reported' THEN 1 END) AS fallback_reported_cost_nodes,
    count(CASE WHEN fallback_usage AND cost_source = 'computed' THEN 1 END) AS fallback_computed_cost_nodes,
    count(CASE WHEN fallback_usage AND cost_source = 'unknown' THEN 1 END) AS fallback_unknown_cost_nodes
FROM keyed
GROUP BY tenant_id, trace_id
