-- run_rollups loses its primary key.
--
-- Its ART index was written out whole at every checkpoint (0.3-0.6 s on a
-- 1,000,000-run store, even for one changed row: the ingest stalls of
-- bench/retention), and DuckDB plans INSERT .. ON CONFLICT as a join against
-- the whole table (0.8 s for a batch of 120 new runs at 1,000,000 runs). The
-- writer now finds a batch's stored runs itself and updates them by rowid
-- (agentlog.store.spans.fold_runs); it is the only writer, so a run still has
-- one row. Rows are rewritten in start order, which the history's time
-- windows prune by (zone maps on started_ns).
CREATE TABLE run_rollups_0014 (
    tenant_id           VARCHAR  NOT NULL,
    trace_id            UHUGEINT NOT NULL,
    root        STRUCT("key" UHUGEINT, span_id UBIGINT, "name" VARCHAR, status_code UTINYINT,
                       status_message VARCHAR, agent_name VARCHAR, "input" VARCHAR, output VARCHAR,
                       end_ns UBIGINT),
    agent       STRUCT("key" UHUGEINT, marker BOOLEAN, "name" VARCHAR, id VARCHAR, "input" VARCHAR, output VARCHAR),
    service     STRUCT("key" UHUGEINT, marker BOOLEAN, "name" VARCHAR),
    "user"      STRUCT("key" UHUGEINT, marker BOOLEAN, id VARCHAR),
    "session"   STRUCT("key" UHUGEINT, marker BOOLEAN, id VARCHAR),
    first_error STRUCT("key" UHUGEINT, span_id UBIGINT, node VARCHAR, "type" VARCHAR, message VARCHAR),
    last_node   STRUCT("key" UHUGEINT, failed BOOLEAN),
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
    commit_seq          BIGINT   NOT NULL,
    first_seq           BIGINT,
    usage_spans                  BIGINT DEFAULT 0,
    fallback_input_tokens        BIGINT DEFAULT 0,
    fallback_output_tokens       BIGINT DEFAULT 0,
    fallback_cache_read_tokens   BIGINT DEFAULT 0,
    fallback_reasoning_tokens    BIGINT DEFAULT 0,
    fallback_total_tokens        BIGINT DEFAULT 0,
    fallback_cost_usd            DECIMAL(38, 12) DEFAULT 0,
    fallback_reported_cost_nodes BIGINT DEFAULT 0,
    fallback_computed_cost_nodes BIGINT DEFAULT 0,
    fallback_unknown_cost_nodes  BIGINT DEFAULT 0
);
INSERT INTO run_rollups_0014 SELECT * FROM run_rollups ORDER BY started_ns;
DROP TABLE run_rollups;
ALTER TABLE run_rollups_0014 RENAME TO run_rollups;
