-- A run as people read it: status, agent, input and output derived from run_rollups.
-- Status and agent: run_status() and run_agent() (run_fields.sql).
-- Usage: the spans' own usage, or, when none reports any, the agent/chain
-- spans' (the fallback_* columns, see migration 0008).
CREATE OR REPLACE VIEW run_summaries AS
WITH usage AS (
    SELECT *,
        usage_spans > 0 AS own,
        CASE WHEN usage_spans > 0 THEN input_tokens ELSE fallback_input_tokens END AS run_input_tokens,
        CASE WHEN usage_spans > 0 THEN output_tokens ELSE fallback_output_tokens END AS run_output_tokens,
        CASE WHEN usage_spans > 0 THEN cache_read_tokens ELSE fallback_cache_read_tokens END AS run_cache_read_tokens,
        CASE WHEN usage_spans > 0 THEN reasoning_tokens ELSE fallback_reasoning_tokens END AS run_reasoning_tokens,
        CASE WHEN usage_spans > 0 THEN total_tokens ELSE fallback_total_tokens END AS run_total_tokens,
        CASE WHEN usage_spans > 0 THEN cost_usd ELSE fallback_cost_usd END AS run_cost_usd,
        CASE WHEN usage_spans > 0 THEN reported_cost_nodes ELSE fallback_reported_cost_nodes END AS reported_n,
        CASE WHEN usage_spans > 0 THEN computed_cost_nodes ELSE fallback_computed_cost_nodes END AS computed_n,
        CASE WHEN usage_spans > 0 THEN unknown_cost_nodes ELSE fallback_unknown_cost_nodes END AS unknown_n
    FROM run_rollups
)
SELECT
    tenant_id,
    trace_id,
    printf('%032x', trace_id) AS run_id,
    run_status(root, last_node) AS status,
    run_agent(root, agent, service) AS agent,
    agent.id AS agent_id,
    "user".id AS user_id,
    "session".id AS session_id,
    service.name AS service_name,
    coalesce(root.input, agent.input) AS input,
    coalesce(root.output, agent.output) AS output,
    started_ns,
    CASE WHEN root.span_id IS NOT NULL THEN greatest(root.end_ns, started_ns) END AS ended_ns,
    node_count,
    node_count - failed_nodes AS successful_nodes,
    failed_nodes,
    run_input_tokens AS input_tokens,
    run_output_tokens AS output_tokens,
    run_cache_read_tokens AS cache_read_tokens,
    run_reasoning_tokens AS reasoning_tokens,
    run_total_tokens AS total_tokens,
    run_cost_usd AS cost_usd,
    CASE
        WHEN reported_n + computed_n + unknown_n = 0 THEN NULL
        WHEN reported_n + computed_n = 0 THEN 'unknown'
        WHEN unknown_n > 0 THEN 'partial'
        WHEN computed_n = 0 THEN 'reported'
        WHEN reported_n = 0 THEN 'computed'
        ELSE 'mixed'
    END AS cost_source,
    models,
    first_error.node AS error_node,
    first_error.type AS error_type,
    first_error.message AS error_message,
    root.span_id AS root_span_id,
    first_seq,
    commit_seq
FROM usage;
