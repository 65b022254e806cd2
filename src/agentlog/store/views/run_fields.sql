-- How a run's fields follow from its roll-up (run_rollups), in one place: the
-- run_summaries view and the history's page statement (history.sql) both use
-- these. The history reads run_rollups itself: through the view, DuckDB binds
-- all of its ~35 columns for every statement (~1.5 ms a page).
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
CREATE OR REPLACE MACRO run_input(root, agent) AS coalesce(root.input, agent.input);
CREATE OR REPLACE MACRO run_output(root, agent) AS coalesce(root.output, agent.output);
-- A run ends when its root span does, never before it started.
CREATE OR REPLACE MACRO run_ended_ns(root, started_ns) AS
    CASE WHEN root.span_id IS NOT NULL THEN greatest(root.end_ns, started_ns) END;
-- Usage and cost: the spans' own when any span reports usage; otherwise the
-- agent/chain spans' (the fallback_* columns, see migration 0008).
CREATE OR REPLACE MACRO run_usage(usage_spans, own, fallback) AS
    CASE WHEN usage_spans > 0 THEN own ELSE fallback END;
-- A run's cost: the sum of its nodes' known costs; NULL (unknown, never 0)
-- when no node has one: a run of tools alone, or of models with no price.
CREATE OR REPLACE MACRO run_cost(cost, reported_n, computed_n) AS
    CASE WHEN reported_n + computed_n > 0 THEN cost END;
-- Where the cost came from, from the counts of nodes by cost source.
CREATE OR REPLACE MACRO run_cost_source(reported_n, computed_n, unknown_n) AS
    CASE
        WHEN reported_n + computed_n + unknown_n = 0 THEN NULL
        WHEN reported_n + computed_n = 0 THEN 'unknown'
        WHEN unknown_n > 0 THEN 'partial'
        WHEN computed_n = 0 THEN 'reported'
        WHEN reported_n = 0 THEN 'computed'
        ELSE 'mixed'
    END;
