-- Nodes of one run with their documents: the columns of run_skeleton.sql, and
-- `document`, from the same view (see run_skeleton.sql). Its last line is
-- run_page.sql for a page's nodes, or nothing for a whole run that fits on
-- one page (logs.py puts it in).
SELECT span_id, parent_span_id, start_time_unix_nano, running,
       status_code = 2 AS failed,
       CASE WHEN status_code = 2 THEN name END AS error_node,
       CASE WHEN status_code = 2 THEN coalesce(error_type, 'error') END AS error_type,
       CASE WHEN status_code = 2 THEN coalesce(error_message, status_message) END AS error_message,
       end_time_unix_nano, events, document
FROM {documents}
WHERE tenant_id = $tenant AND trace_id = $trace::UHUGEINT AND commit_seq BETWEEN $first_seq AND $last_seq
{page}
