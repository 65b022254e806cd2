-- One row per run (trace), maintained by the writer in the same transaction as
-- the spans: each commit folds the partial aggregate of its new spans in with
-- INSERT .. ON CONFLICT DO UPDATE (store/queries/fold_runs.sql).
--
-- Every column merges order-independently, so a run comes out the same
-- whatever order and batching its spans arrive in: counts and sums add;
-- started_ns takes the minimum; each STRUCT is "the span with the smallest
-- (or, for last_node, largest) key", where key = time << 64 | span_id is a
-- total order, and least()/greatest() of two structs compare the key first.
-- The run_summaries view derives status, agent, input and output.
CREATE TABLE runs (
    tenant_id           VARCHAR  NOT NULL,
    trace_id            UHUGEINT NOT NULL,
    -- the root span (no parent); the earliest if a trace has several
    root        STRUCT(key UHUGEINT, span_id UBIGINT, name VARCHAR, status_code UTINYINT,
                       status_message VARCHAR, agent_name VARCHAR, input VARCHAR, output VARCHAR,
                       end_ns UBIGINT),
    -- the earliest span or marker naming an agent ("top-most" in practice)
    -- (marker: a live-status marker's values, which the real span's replace)
    agent       STRUCT(key UHUGEINT, marker BOOLEAN, name VARCHAR, id VARCHAR, input VARCHAR, output VARCHAR),
    service     STRUCT(key UHUGEINT, marker BOOLEAN, name VARCHAR),
    "user"      STRUCT(key UHUGEINT, marker BOOLEAN, id VARCHAR),
    "session"   STRUCT(key UHUGEINT, marker BOOLEAN, id VARCHAR),
    -- the failed span that ended first: where the failure began (errors propagate up)
    first_error STRUCT(key UHUGEINT, span_id UBIGINT, node VARCHAR, type VARCHAR, message VARCHAR),
    -- the node (non-root span) that ended last: did the run end on a failure?
    last_node   STRUCT(key UHUGEINT, failed BOOLEAN),
    started_ns          UBIGINT  NOT NULL,
    span_count          BIGINT   NOT NULL,
    node_count          BIGINT   NOT NULL,
    failed_nodes        BIGINT   NOT NULL,
    input_tokens        BIGINT   NOT NULL,
    output_tokens       BIGINT   NOT NULL,
    cache_read_tokens   BIGINT   NOT NULL,
    reasoning_tokens    BIGINT   NOT NULL,
    total_tokens        BIGINT   NOT NULL,
    cost_usd            DECIMAL(38, 12) NOT NULL,
    reported_cost_nodes BIGINT   NOT NULL,
    computed_cost_nodes BIGINT   NOT NULL,
    unknown_cost_nodes  BIGINT   NOT NULL,
    models              VARCHAR[] NOT NULL,
    commit_seq          BIGINT   NOT NULL,   -- the last writer transaction that changed this run
    PRIMARY KEY (tenant_id, trace_id)
);
