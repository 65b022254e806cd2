-- The runs of a history page in another order than newest first: their ids,
-- starts and sort keys only (history_rows.sql then reads the page's rows).
-- Every key is a DECIMAL(38, 12), exact for nanoseconds, tokens and USD alike,
-- so one statement serves every $sort. A run with no key (a running run's
-- duration, an unknown cost) comes last in both orders; the run id breaks ties
-- in the page's direction. $descending negates the key and turns the id's
-- order, so that both orders are one ORDER BY and one keyset condition after
-- the previous page's last run ($after_key, $after_trace).
-- No time window: this reads the narrow columns of every run the filters keep.
SELECT trace_id, started_ns, sort_key
FROM (
    SELECT trace_id, started_ns, sort_key,
           CASE WHEN $descending THEN -sort_key ELSE sort_key END AS ordered_key,
           CASE WHEN $descending THEN trace_id < $after_trace::UUID ELSE trace_id > $after_trace::UUID END
               AS beyond_trace
    FROM (
        SELECT trace_id, started_ns,
               CASE $sort
                   WHEN 'start' THEN started_ns::DECIMAL(38, 12)
                   WHEN 'duration' THEN (run_ended_ns(root, started_ns) - started_ns)::DECIMAL(38, 12)
                   WHEN 'tokens' THEN run_usage(usage_spans, total_tokens, fallback_total_tokens)::DECIMAL(38, 12)
                   WHEN 'cost' THEN run_cost(
                       run_usage(usage_spans, cost_usd, fallback_cost_usd),
                       run_usage(usage_spans, reported_cost_nodes, fallback_reported_cost_nodes),
                       run_usage(usage_spans, computed_cost_nodes, fallback_computed_cost_nodes))
               END AS sort_key
        FROM run_rollups
        {history_filter}
    )
)
WHERE $after_trace IS NULL
   OR CASE
          WHEN $after_key IS NULL THEN sort_key IS NULL AND beyond_trace
          ELSE sort_key IS NULL
               OR ordered_key > $after_ordered_key::DECIMAL(38, 12)
               OR (sort_key = $after_key::DECIMAL(38, 12) AND beyond_trace)
      END
ORDER BY ordered_key NULLS LAST, CASE WHEN $descending THEN trace_id END DESC, trace_id
LIMIT $limit OFFSET $skip
