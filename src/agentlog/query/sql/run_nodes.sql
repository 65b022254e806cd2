-- Nodes of one run with their documents: the columns of run_skeleton.sql, and
-- `document`. $ids: the decimal span ids of the page being shown,
-- comma-separated (one string: binding a list of 1,000 values costs more than
-- the query); NULL for the whole run, when it fits on the page.
SELECT span_id, parent_span_id, start_time_unix_nano, running,
       status_code = 2 AS failed,
       CASE WHEN status_code = 2 THEN name END AS error_node,
       CASE WHEN status_code = 2 THEN coalesce(error_type, 'error') END AS error_type,
       CASE WHEN status_code = 2 THEN coalesce(error_message, status_message) END AS error_message,
       end_time_unix_nano, events, document
FROM node_documents
WHERE tenant_id = $tenant AND trace_id = $trace::UHUGEINT AND commit_seq BETWEEN $first_seq AND $last_seq
  AND ($ids IS NULL OR span_id IN (SELECT unnest(string_split($ids, ','))::UBIGINT))
