-- Every span and live-status marker with its node as the API shows it, as
-- JSON text made by DuckDB: turning a 1,000-node page into Python values and
-- back costs more than the query. `document` leaves out what depends on the
-- tree or is formatted in Python (depth, time, started_at, ended_at,
-- duration_ms, events): query/logs.py `node_document` adds those.
-- A statement that does not select `document` (or `outline`) does not compute it.
--
-- span_documents: the stored spans; marker_documents: the live-status markers;
-- node_documents: both. A reader that knows a run has no markers reads
-- span_documents alone: DuckDB plans every branch of a UNION, and the markers'
-- branch cost a 1,000-node run's logs 3 of their 13.5 ms.
--
-- The document's shape is node_document's alone, so that a running node and
-- a finished one always have the same fields. Its arguments are the columns
-- both views have, by the same names; a marker's that it does not know yet are
-- NULL (it has no usage, cost, output or error while it runs).
-- What a node's document and its outline both hold, between id/type/input/output and attributes.
CREATE OR REPLACE MACRO node_fields(
    running, status_code, span_id, parent_span_id, model, tool_name, input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd, cost_source, usage_aggregated,
    error_type, error_message
) AS {
    status: CASE WHEN running THEN 'running' WHEN status_code = 2 THEN 'failed' ELSE 'completed' END,
    span_id: printf('%016x', span_id),
    parent_span_id: printf('%016x', parent_span_id),
    model: model,
    tool: tool_name,
    tokens: {input: input_tokens, output: output_tokens, cache_read: cache_read_tokens,
             cache_write: cache_write_tokens, reasoning: reasoning_tokens, total: total_tokens},
    cost: {usd: cost_usd::DOUBLE, cents: (cost_usd * 100)::DOUBLE, source: cost_source},
    usage_aggregated: coalesce(usage_aggregated, false),
    error: CASE WHEN status_code = 2 THEN {type: error_type, message: error_message} END
};

CREATE OR REPLACE MACRO node_document(
    running, name, node_type, input, output, status_code, span_id, parent_span_id, model, tool_name,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd,
    cost_source, usage_aggregated, error_type, error_message, attributes
) AS to_json(struct_concat(
    {id: name, type: coalesce(nullif(node_type, ''), 'span'), input: input, output: output},
    node_fields(running, status_code, span_id, parent_span_id, model, tool_name, input_tokens, output_tokens,
                cache_read_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd, cost_source,
                usage_aggregated, error_type, error_message),
    {attributes: attributes}
))::VARCHAR;

-- A node's outline: its document less input, output and attributes (a waterfall's row; the
-- logs endpoint's outline=true).
CREATE OR REPLACE MACRO node_outline(
    running, name, node_type, status_code, span_id, parent_span_id, model, tool_name,
    input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd,
    cost_source, usage_aggregated, error_type, error_message
) AS to_json(struct_concat(
    {id: name, type: coalesce(nullif(node_type, ''), 'span')},
    node_fields(running, status_code, span_id, parent_span_id, model, tool_name, input_tokens, output_tokens,
                cache_read_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd, cost_source,
                usage_aggregated, error_type, error_message)
))::VARCHAR;

CREATE OR REPLACE VIEW span_documents AS
SELECT tenant_id, trace_id, span_id, parent_span_id, start_time_unix_nano, end_time_unix_nano, commit_seq,
       false AS running, status_code, name, error_type, error_message, status_message, events,
       node_document(false, name, node_type, span_text(input, input_key, attributes),
                     span_text(output, output_key, attributes), status_code, span_id, parent_span_id, model,
                     tool_name, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
                     total_tokens, cost_usd, cost_source, usage_aggregated, error_type, error_message,
                     attributes) AS document,
       node_outline(false, name, node_type, status_code, span_id, parent_span_id, model, tool_name, input_tokens,
                    output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd,
                    cost_source, usage_aggregated, error_type, error_message) AS outline
FROM stored_spans;

CREATE OR REPLACE VIEW marker_documents AS
SELECT tenant_id, trace_id, span_id, parent_span_id, start_time_unix_nano,
       NULL::UBIGINT AS end_time_unix_nano, commit_seq,
       true AS running, 0::UTINYINT AS status_code, name, NULL::VARCHAR AS error_type,
       NULL::VARCHAR AS error_message, NULL::VARCHAR AS status_message, NULL::JSON AS events,
       node_document(true, name, node_type, input, NULL::VARCHAR, 0, span_id, parent_span_id, model, tool_name,
                     NULL::BIGINT, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT,
                     NULL::DOUBLE, NULL::VARCHAR, false, NULL::VARCHAR, NULL::VARCHAR, attributes) AS document,
       node_outline(true, name, node_type, 0, span_id, parent_span_id, model, tool_name, NULL::BIGINT, NULL::BIGINT,
                    NULL::BIGINT, NULL::BIGINT, NULL::BIGINT, NULL::BIGINT, NULL::DOUBLE, NULL::VARCHAR, false,
                    NULL::VARCHAR, NULL::VARCHAR) AS outline
FROM pending_spans;

CREATE OR REPLACE VIEW node_documents AS
SELECT * FROM span_documents
UNION ALL
SELECT * FROM marker_documents;
