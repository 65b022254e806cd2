-- One page of history, newest first. $from_ns is the page's oldest start time
-- (history_bound.sql) or, for an unfiltered listing, a window recent enough to
-- hold it.
SELECT
{run_columns}
FROM run_rollups
{history_filter}
ORDER BY started_ns DESC, trace_id DESC
LIMIT $limit OFFSET $skip
