-- stored_spans loses its primary key, and stops storing input/output twice.
--
-- The key's ART index cost the writer a quarter of its time, lived in memory
-- (hundreds of MiB on a big store), and made retention's deletes slow and the
-- space they free unusable. Duplicates (a client's retry) are now dropped by
-- the writer before the insert (agentlog.store.spans): only spans of runs
-- that already exist can be duplicates, and those are looked up among the
-- run's own commits (run_rollups.first_seq onwards, zone maps on commit_seq).
--
-- input / output: when the canonical text is the string value of one
-- attribute, it is no longer copied; input_key / output_key name the
-- attribute, and span_text() reads it back. A third of a typical span's bytes.
CREATE TABLE stored_spans_0013 (
    tenant_id                VARCHAR   NOT NULL,
    trace_id                 UHUGEINT  NOT NULL,
    span_id                  UBIGINT   NOT NULL,
    parent_span_id           UBIGINT,
    trace_state              VARCHAR,
    flags                    UINTEGER  NOT NULL,
    name                     VARCHAR   NOT NULL,
    kind                     UTINYINT  NOT NULL,
    start_time_unix_nano     UBIGINT   NOT NULL,
    end_time_unix_nano       UBIGINT   NOT NULL,
    status_code              UTINYINT  NOT NULL,
    status_message           VARCHAR,
    service_name             VARCHAR,
    resource_attributes      JSON      NOT NULL,
    scope_name               VARCHAR,
    scope_version            VARCHAR,
    attributes               JSON      NOT NULL,
    events                   JSON,
    links                    JSON,
    dropped_attributes_count UINTEGER  NOT NULL,
    dropped_events_count     UINTEGER  NOT NULL,
    dropped_links_count      UINTEGER  NOT NULL,
    node_type                VARCHAR,
    agent_name               VARCHAR,
    agent_id                 VARCHAR,
    model                    VARCHAR,
    provider                 VARCHAR,
    input_tokens             BIGINT,
    output_tokens            BIGINT,
    cache_read_tokens        BIGINT,
    reasoning_tokens         BIGINT,
    total_tokens             BIGINT,
    usage_aggregated         BOOLEAN,
    cost_usd                 DECIMAL(38, 12),
    cost_source              VARCHAR,
    "input"                  VARCHAR,   -- NULL when input_key names the attribute holding it
    output                   VARCHAR,   -- NULL when output_key names the attribute holding it
    user_id                  VARCHAR,
    session_id               VARCHAR,
    tool_name                VARCHAR,
    error_type               VARCHAR,
    error_message            VARCHAR,
    commit_seq               BIGINT,
    input_key                VARCHAR,
    output_key               VARCHAR
);
INSERT INTO stored_spans_0013 SELECT *, NULL, NULL FROM stored_spans ORDER BY commit_seq;
DROP TABLE stored_spans;
ALTER TABLE stored_spans_0013 RENAME TO stored_spans;

-- The input or output text of a span: stored, or read from the attribute it came from.
CREATE MACRO span_text(text, text_key, attributes) AS
    CASE WHEN text_key IS NULL THEN text ELSE json_extract_string(attributes, '$."' || text_key || '"') END;
