-- How many of a page's runs start at $from_ns or later, and the oldest start
-- among them, reading only the narrow columns the filters need. history.py
-- widens $from_ns until the page is full, then reads the page with history.sql
-- from that oldest start: DuckDB then builds the wide columns (texts, structs)
-- for the page's runs only, not for every run of the window.
SELECT count(*) AS found, min(started_ns) AS oldest
FROM (
    SELECT started_ns
    FROM run_rollups
    {history_filter}
    ORDER BY started_ns DESC, trace_id DESC
    LIMIT $limit OFFSET $skip
)
