-- Nodes stored (finished) or announced (started) by the commits in ($after, $upto].
SELECT printf('%016x', span_id) AS span_id, printf('%016x', parent_span_id) AS parent_span_id,
       name, node_type, status_code, status_message, start_time_unix_nano, end_time_unix_nano,
       model, provider, input_tokens, output_tokens, cache_read_tokens, reasoning_tokens, total_tokens,
       usage_aggregated, cost_usd, cost_source, span_text(input, input_key, attributes) AS input,
       span_text(output, output_key, attributes) AS output, tool_name, error_type, error_message,
       attributes, events, false AS running, printf('%032x', trace_id) AS run_id, commit_seq
FROM stored_spans
WHERE tenant_id = $tenant AND commit_seq > $after AND commit_seq <= $upto
  AND list_contains($traces, printf('%032x', trace_id))
  AND parent_span_id IS NOT NULL
UNION ALL
SELECT printf('%016x', span_id), printf('%016x', parent_span_id),
       name, node_type, 0, NULL, start_time_unix_nano, NULL,
       model, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, input, NULL, tool_name, NULL, NULL,
       attributes, NULL, true, printf('%032x', trace_id), commit_seq
FROM pending_spans
WHERE tenant_id = $tenant AND commit_seq > $after AND commit_seq <= $upto
  AND list_contains($traces, printf('%032x', trace_id))
  AND parent_span_id IS NOT NULL
ORDER BY commit_seq, running DESC, start_time_unix_nano
