-- Trace ids and log record hashes as UUID; the run roll-ups' sort keys as pairs.
--
-- A lake keeps its rows in Parquet, and DuckDB writes a 128-bit integer
-- (UHUGEINT) to Parquet as a DOUBLE: 53 of its bits. A UUID is 16 bytes there
-- (FIXED_LEN_BYTE_ARRAY) as in DuckDB, and orders as the unsigned 128-bit
-- integer of its bytes, so equality, a run id prefix's range and the history's
-- order are what they were. The roll-ups' STRUCTs were ordered by a key of
-- (time << 64) | span id; a STRUCT(ns, span) orders the same way.
-- pending_spans has a primary key, and DuckDB cannot change the type of a key
-- column: it is copied into a new table. The conversions are written out in
-- each statement, not as macros: DuckDB replays an ALTER's USING expression
-- from the WAL after a crash, when a temporary macro is gone. A NULL STRUCT
-- stays NULL (struct_update would make one of NULL fields).
ALTER TABLE stored_spans ALTER COLUMN trace_id SET DATA TYPE UUID USING printf('%032x', trace_id)::UUID;
ALTER TABLE stored_log_records ALTER COLUMN trace_id SET DATA TYPE UUID USING printf('%032x', trace_id)::UUID;
ALTER TABLE stored_log_records ALTER COLUMN record_hash SET DATA TYPE UUID USING printf('%032x', record_hash)::UUID;
CREATE TABLE pending_spans_0018 (
    tenant_id            VARCHAR  NOT NULL,
    trace_id             UUID     NOT NULL,
    span_id              UBIGINT  NOT NULL,
    parent_span_id       UBIGINT,
    name                 VARCHAR  NOT NULL,
    start_time_unix_nano UBIGINT  NOT NULL,
    node_type            VARCHAR,
    attributes           JSON     NOT NULL,
    commit_seq           BIGINT,
    input                VARCHAR,
    model                VARCHAR,
    tool_name            VARCHAR,
    PRIMARY KEY (tenant_id, trace_id, span_id)
);
INSERT INTO pending_spans_0018 SELECT * REPLACE (printf('%032x', trace_id)::UUID AS trace_id) FROM pending_spans;
DROP TABLE pending_spans;
ALTER TABLE pending_spans_0018 RENAME TO pending_spans;
ALTER TABLE run_compacted ALTER COLUMN trace_id SET DATA TYPE UUID USING printf('%032x', trace_id)::UUID;
ALTER TABLE run_compacted ALTER COLUMN root SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), span_id UBIGINT, "name" VARCHAR, status_code UTINYINT, status_message VARCHAR, agent_name VARCHAR, "input" VARCHAR, output VARCHAR, end_ns UBIGINT)
    USING CASE WHEN root IS NOT NULL THEN struct_update(root, "key" := {'ns': (struct_extract(root, 'key') >> 64)::UBIGINT, 'span': (struct_extract(root, 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_compacted ALTER COLUMN agent SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), marker BOOLEAN, "name" VARCHAR, id VARCHAR, "input" VARCHAR, output VARCHAR)
    USING CASE WHEN agent IS NOT NULL THEN struct_update(agent, "key" := {'ns': (struct_extract(agent, 'key') >> 64)::UBIGINT, 'span': (struct_extract(agent, 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_compacted ALTER COLUMN service SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), marker BOOLEAN, "name" VARCHAR)
    USING CASE WHEN service IS NOT NULL THEN struct_update(service, "key" := {'ns': (struct_extract(service, 'key') >> 64)::UBIGINT, 'span': (struct_extract(service, 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_compacted ALTER COLUMN "user" SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), marker BOOLEAN, id VARCHAR)
    USING CASE WHEN "user" IS NOT NULL THEN struct_update("user", "key" := {'ns': (struct_extract("user", 'key') >> 64)::UBIGINT, 'span': (struct_extract("user", 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_compacted ALTER COLUMN "session" SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), marker BOOLEAN, id VARCHAR)
    USING CASE WHEN "session" IS NOT NULL THEN struct_update("session", "key" := {'ns': (struct_extract("session", 'key') >> 64)::UBIGINT, 'span': (struct_extract("session", 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_compacted ALTER COLUMN first_error SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), span_id UBIGINT, node VARCHAR, "type" VARCHAR, message VARCHAR)
    USING CASE WHEN first_error IS NOT NULL THEN struct_update(first_error, "key" := {'ns': (struct_extract(first_error, 'key') >> 64)::UBIGINT, 'span': (struct_extract(first_error, 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_compacted ALTER COLUMN last_node SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), failed BOOLEAN)
    USING CASE WHEN last_node IS NOT NULL THEN struct_update(last_node, "key" := {'ns': (struct_extract(last_node, 'key') >> 64)::UBIGINT, 'span': (struct_extract(last_node, 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_partials ALTER COLUMN trace_id SET DATA TYPE UUID USING printf('%032x', trace_id)::UUID;
ALTER TABLE run_partials ALTER COLUMN root SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), span_id UBIGINT, "name" VARCHAR, status_code UTINYINT, status_message VARCHAR, agent_name VARCHAR, "input" VARCHAR, output VARCHAR, end_ns UBIGINT)
    USING CASE WHEN root IS NOT NULL THEN struct_update(root, "key" := {'ns': (struct_extract(root, 'key') >> 64)::UBIGINT, 'span': (struct_extract(root, 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_partials ALTER COLUMN agent SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), marker BOOLEAN, "name" VARCHAR, id VARCHAR, "input" VARCHAR, output VARCHAR)
    USING CASE WHEN agent IS NOT NULL THEN struct_update(agent, "key" := {'ns': (struct_extract(agent, 'key') >> 64)::UBIGINT, 'span': (struct_extract(agent, 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_partials ALTER COLUMN service SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), marker BOOLEAN, "name" VARCHAR)
    USING CASE WHEN service IS NOT NULL THEN struct_update(service, "key" := {'ns': (struct_extract(service, 'key') >> 64)::UBIGINT, 'span': (struct_extract(service, 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_partials ALTER COLUMN "user" SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), marker BOOLEAN, id VARCHAR)
    USING CASE WHEN "user" IS NOT NULL THEN struct_update("user", "key" := {'ns': (struct_extract("user", 'key') >> 64)::UBIGINT, 'span': (struct_extract("user", 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_partials ALTER COLUMN "session" SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), marker BOOLEAN, id VARCHAR)
    USING CASE WHEN "session" IS NOT NULL THEN struct_update("session", "key" := {'ns': (struct_extract("session", 'key') >> 64)::UBIGINT, 'span': (struct_extract("session", 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_partials ALTER COLUMN first_error SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), span_id UBIGINT, node VARCHAR, "type" VARCHAR, message VARCHAR)
    USING CASE WHEN first_error IS NOT NULL THEN struct_update(first_error, "key" := {'ns': (struct_extract(first_error, 'key') >> 64)::UBIGINT, 'span': (struct_extract(first_error, 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
ALTER TABLE run_partials ALTER COLUMN last_node SET DATA TYPE
    STRUCT("key" STRUCT(ns UBIGINT, span UBIGINT), failed BOOLEAN)
    USING CASE WHEN last_node IS NOT NULL THEN struct_update(last_node, "key" := {'ns': (struct_extract(last_node, 'key') >> 64)::UBIGINT, 'span': (struct_extract(last_node, 'key') & 18446744073709551615::UHUGEINT)::UBIGINT}) END;
