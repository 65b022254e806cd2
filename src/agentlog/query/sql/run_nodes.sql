-- Full rows of some spans of one run ($ids: their decimal ids, comma-separated: the page being shown).
SELECT printf('%016x', span_id) AS span_id, printf('%016x', parent_span_id) AS parent_span_id,
       name, node_type, status_code, status_message, start_time_unix_nano, end_time_unix_nano,
       model, provider, input_tokens, output_tokens, cache_read_tokens, reasoning_tokens, total_tokens,
       usage_aggregated, cost_usd, cost_source, span_text(input, input_key, attributes) AS input,
       span_text(output, output_key, attributes) AS output, tool_name, error_type, error_message,
       attributes, events, false AS running
FROM stored_spans
WHERE tenant_id = $tenant AND trace_id = $trace::UHUGEINT AND commit_seq BETWEEN $first_seq AND $last_seq
  AND span_id IN (SELECT unnest(string_split($ids, ','))::UBIGINT)
UNION ALL
SELECT printf('%016x', span_id), printf('%016x', parent_span_id),
       name, node_type, 0, NULL, start_time_unix_nano, NULL,
       model, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, input, NULL, tool_name, NULL, NULL,
       attributes, NULL, true
FROM pending_spans
WHERE tenant_id = $tenant AND trace_id = $trace::UHUGEINT AND span_id IN (SELECT unnest(string_split($ids, ','))::UBIGINT)
