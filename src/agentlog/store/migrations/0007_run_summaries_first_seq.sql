-- run_summaries gains first_seq (see 0006).
CREATE OR REPLACE VIEW run_summaries AS
SELECT
    tenant_id,
    trace_id,
    printf('%032x', trace_id) AS run_id,
    CASE
        WHEN root IS NULL THEN 'running'
        WHEN root.status_code = 2 THEN 'failed'
        WHEN root.status_code = 1 THEN 'success'
        WHEN coalesce(last_node.failed, false) THEN 'failed'
        ELSE 'success'
    END AS status,
    coalesce(root.agent_name, agent.name, root.name, service.name) AS agent,
    agent.id AS agent_id,
    "user".id AS user_id,
    "session".id AS session_id,
    service.name AS service_name,
    coalesce(root.input, agent.input) AS input,
    coalesce(root.output, agent.output) AS output,
    started_ns,
    CASE WHEN root IS NOT NULL THEN greatest(root.end_ns, started_ns) END AS ended_ns,
    node_count,
    node_count - failed_nodes AS successful_nodes,
    failed_nodes,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    reasoning_tokens,
    total_tokens,
    cost_usd,
    CASE
        WHEN reported_cost_nodes + computed_cost_nodes + unknown_cost_nodes = 0 THEN NULL
        WHEN reported_cost_nodes + computed_cost_nodes = 0 THEN 'unknown'
        WHEN unknown_cost_nodes > 0 THEN 'partial'
        WHEN computed_cost_nodes = 0 THEN 'reported'
        WHEN reported_cost_nodes = 0 THEN 'computed'
        ELSE 'mixed'
    END AS cost_source,
    models,
    first_error.node AS error_node,
    first_error.type AS error_type,
    first_error.message AS error_message,
    first_seq,
    commit_seq
FROM runs;
