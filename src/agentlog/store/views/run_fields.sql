-- How a run's status and agent follow from its roll-up (run_rollups), in one
-- place: the run_summaries view and the history's key scan both use these.
-- Status: running until the root span arrives; then the root's own status when
-- it set one; else failed if the run ended on a failed node (an error the
-- agent recovered from, followed by successful steps, does not fail the run).
-- A run has a root when root.span_id is set: asking whether the whole STRUCT
-- is NULL makes DuckDB read every field of it (its texts too), ~0.35 ms a row
-- when the rows are scattered, as a rare user's history page is.
CREATE OR REPLACE MACRO run_status(root, last_node) AS
    CASE
        WHEN root.span_id IS NULL THEN 'running'
        WHEN root.status_code = 2 THEN 'failed'
        WHEN root.status_code = 1 THEN 'success'
        WHEN coalesce(last_node.failed, false) THEN 'failed'
        ELSE 'success'
    END;
CREATE OR REPLACE MACRO run_agent(root, agent, service) AS
    coalesce(root.agent_name, agent.name, root.name, service.name);
