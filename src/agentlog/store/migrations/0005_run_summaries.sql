-- A run as people read it: status, agent, input and output derived from `runs`.
-- Status: running until the root span arrives; then the root's own status when
-- it set one; else failed if the run ended on a failed node (an error the
-- agent recovered from, followed by successful steps, does not fail the run).
CREATE VIEW run_summaries AS
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
    commit_seq
FROM runs;
