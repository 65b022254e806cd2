-- The run roll-ups of one transaction's spans and markers, one row per run
-- (batch_runs), for merge_runs.sql to fold into run_rollups.
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
CREATE OR REPLACE TEMP TABLE batch_runs AS
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
             'end_ns': end_time_unix_nano}, start_key) FILTER (is_root) AS root,
    arg_min({'key': start_key, 'marker': is_marker, 'name': agent_name, 'id': agent_id, 'input': input,
             'output': output}, marked_key) FILTER (agent_name IS NOT NULL) AS agent,
    arg_min({'key': start_key, 'marker': is_marker, 'name': service_name}, marked_key) FILTER (service_name IS NOT NULL) AS service,
    arg_min({'key': start_key, 'marker': is_marker, 'id': user_id}, marked_key) FILTER (user_id IS NOT NULL) AS "user",
    arg_min({'key': start_key, 'marker': is_marker, 'id': session_id}, marked_key) FILTER (session_id IS NOT NULL) AS "session",
    arg_min({'key': end_key, 'span_id': span_id, 'node': name, 'type': coalesce(error_type, 'error'),
             'message': error_message}, end_key) FILTER (NOT is_marker AND status_code = 2) AS first_error,
    max({'key': end_key, 'failed': status_code = 2}) FILTER (is_node) AS last_node,
    min(start_time_unix_nano) AS started_ns,
    count(*) FILTER (NOT is_marker) AS span_count,
    count(*) FILTER (is_node) AS node_count,
    count(*) FILTER (is_node AND status_code = 2) AS failed_nodes,
    coalesce(sum(input_tokens) FILTER (own_usage), 0) AS input_tokens,
    coalesce(sum(output_tokens) FILTER (own_usage), 0) AS output_tokens,
    coalesce(sum(cache_read_tokens) FILTER (own_usage), 0) AS cache_read_tokens,
    coalesce(sum(reasoning_tokens) FILTER (own_usage), 0) AS reasoning_tokens,
    coalesce(sum(total_tokens) FILTER (own_usage), 0) AS total_tokens,
    coalesce(sum(cost_usd) FILTER (own_usage), 0) AS cost_usd,
    count(*) FILTER (own_usage AND cost_source = 'reported') AS reported_cost_nodes,
    count(*) FILTER (own_usage AND cost_source = 'computed') AS computed_cost_nodes,
    count(*) FILTER (own_usage AND cost_source = 'unknown') AS unknown_cost_nodes,
    coalesce(list_sort(list_distinct(list(model) FILTER (own_usage AND model IS NOT NULL))), []) AS models,
    $1::BIGINT AS commit_seq,
    $1::BIGINT AS first_seq,
    count(*) FILTER (own_usage AND total_tokens IS NOT NULL) AS usage_spans,
    coalesce(sum(input_tokens) FILTER (fallback_usage), 0) AS fallback_input_tokens,
    coalesce(sum(output_tokens) FILTER (fallback_usage), 0) AS fallback_output_tokens,
    coalesce(sum(cache_read_tokens) FILTER (fallback_usage), 0) AS fallback_cache_read_tokens,
    coalesce(sum(reasoning_tokens) FILTER (fallback_usage), 0) AS fallback_reasoning_tokens,
    coalesce(sum(total_tokens) FILTER (fallback_usage), 0) AS fallback_total_tokens,
    coalesce(sum(cost_usd) FILTER (fallback_usage), 0) AS fallback_cost_usd,
    count(*) FILTER (fallback_usage AND cost_source = 'reported') AS fallback_reported_cost_nodes,
    count(*) FILTER (fallback_usage AND cost_source = 'computed') AS fallback_computed_cost_nodes,
    count(*) FILTER (fallback_usage AND cost_source = 'unknown') AS fallback_unknown_cost_nodes
FROM keyed
GROUP BY tenant_id, trace_id
