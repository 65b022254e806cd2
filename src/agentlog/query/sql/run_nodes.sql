-- A run's nodes: the shape of its span tree (ids, parents, times) and what
-- its failed spans say (NULL for the others: the run's errors come with its
-- shape, not from a statement of their own); with each node's JSON document
-- when it is to be shown. Bounded by the run's commit_seq range so that zone
-- maps skip every other row group. logs.py makes three statements of this
-- file: the shape alone (a run too big for one page), the shape with
-- documents (a whole run), and documents for a page's nodes (run_page.sql as
-- the last line). Each reads node_documents, or span_documents for a run
-- without live-status markers.
SELECT span_id, parent_span_id, start_time_unix_nano, running,
       status_code = 2 AS failed,
       CASE WHEN status_code = 2 THEN name END AS error_node,
       CASE WHEN status_code = 2 THEN coalesce(error_type, 'error') END AS error_type,
       CASE WHEN status_code = 2 THEN coalesce(error_message, status_message) END AS error_message,
       end_time_unix_nano, events{document}
FROM {documents}
WHERE tenant_id = $tenant AND trace_id = $trace::UUID AND commit_seq BETWEEN $first_seq AND $last_seq
{page}
