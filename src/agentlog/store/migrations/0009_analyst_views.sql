-- The nice names go to analysts. The tables become stored_spans and
-- run_rollups (internal: integer ids, partial aggregates); the documented,
-- stable views are spans, nodes, runs and agents (hex ids, timestamps,
-- statuses). run_summaries stays the read side's internal view.
ALTER TABLE spans RENAME TO stored_spans;
ALTER TABLE runs RENAME TO run_rollups;

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
    first_seq,
    commit_seq
FROM usage;

-- Every stored span, ids as hex, times as timestamps (UTC).
CREATE VIEW spans AS
SELECT
    tenant_id,
    printf('%032x', trace_id) AS trace_id,
    printf('%016x', span_id) AS span_id,
    CASE WHEN parent_span_id IS NOT NULL THEN printf('%016x', parent_span_id) END AS parent_span_id,
    name,
    kind,
    make_timestamp_ns(start_time_unix_nano::BIGINT) AS start_time,
    make_timestamp_ns(end_time_unix_nano::BIGINT) AS end_time,
    (end_time_unix_nano::HUGEINT - start_time_unix_nano::HUGEINT) / 1e6 AS duration_ms,
    status_code,
    status_message,
    service_name,
    scope_name,
    scope_version,
    node_type,
    agent_name,
    agent_id,
    model,
    provider,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    reasoning_tokens,
    total_tokens,
    usage_aggregated,
    cost_usd,
    cost_source,
    input,
    output,
    user_id,
    session_id,
    tool_name,
    error_type,
    error_message,
    attributes,
    events,
    links,
    resource_attributes,
    trace_state,
    flags,
    dropped_attributes_count,
    dropped_events_count,
    dropped_links_count
FROM stored_spans;

-- The steps of runs: every span but a run's root, with the seed's words.
CREATE VIEW nodes AS
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

-- One row per run, as the history shows it.
CREATE VIEW runs AS
SELECT
    tenant_id,
    run_id,
    status,
    agent,
    agent_id,
    user_id,
    session_id,
    service_name,
    input,
    output,
    make_timestamp_ns(started_ns::BIGINT) AS started_at,
    make_timestamp_ns(ended_ns::BIGINT) AS ended_at,
    (ended_ns::HUGEINT - started_ns::HUGEINT) / 1e6 AS duration_ms,
    node_count,
    successful_nodes,
    failed_nodes,
    input_tokens,
    output_tokens,
    cache_read_tokens,
    reasoning_tokens,
    total_tokens,
    cost_usd,
    cost_source,
    models,
    error_node,
    error_type,
    error_message
FROM run_summaries;

-- One row per agent: how its runs went.
CREATE VIEW agents AS
SELECT
    tenant_id,
    agent,
    count(*) AS runs,
    count(*) FILTER (status = 'success') AS successful_runs,
    count(*) FILTER (status = 'failed') AS failed_runs,
    count(*) FILTER (status = 'running') AS running_runs,
    avg(duration_ms) AS avg_duration_ms,
    sum(total_tokens) AS total_tokens,
    sum(cost_usd) AS cost_usd,
    min(started_at) AS first_run_at,
    max(started_at) AS last_run_at
FROM runs
GROUP BY tenant_id, agent;
