-- The steps of runs: every span but a run's root, in the API's words (run_id, type, status).
CREATE OR REPLACE VIEW nodes AS
SELECT
    tenant_id,
    trace_id AS run_id,
    span_id,
    parent_span_id,
    name,
    coalesce(node_type, 'span') AS type,
    CASE WHEN status_code = 2 THEN 'failed' ELSE 'completed' END AS status,
    start_time AS started_at,
    end_time AS ended_at,
    duration_ms,
    model,
    provider,
    tool_name,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    cache_write_tokens,
    reasoning_tokens,
    total_tokens,
    usage_aggregated,
    cost_usd,
    cost_source,
    input,
    output,
    error_type,
    error_message,
    attributes
FROM spans
WHERE parent_span_id IS NOT NULL;
