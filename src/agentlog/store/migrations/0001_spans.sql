-- Every span as it came, one row per (tenant, trace, span).
-- Ids are integers (trace UHUGEINT, span UBIGINT): fixed-width keys keep the
-- uniqueness index cheap. The `spans` view family (later) shows them as hex.
CREATE TABLE spans (
    tenant_id                VARCHAR   NOT NULL,
    trace_id                 UHUGEINT  NOT NULL,
    span_id                  UBIGINT   NOT NULL,
    parent_span_id           UBIGINT,              -- NULL for a root span
    trace_state              VARCHAR,
    flags                    UINTEGER  NOT NULL,
    name                     VARCHAR   NOT NULL,
    kind                     UTINYINT  NOT NULL,   -- OTLP SpanKind: 0 unspecified .. 5 consumer
    start_time_unix_nano     UBIGINT   NOT NULL,
    end_time_unix_nano       UBIGINT   NOT NULL,
    status_code              UTINYINT  NOT NULL,   -- 0 unset, 1 ok, 2 error
    status_message           VARCHAR,
    service_name             VARCHAR,
    resource_attributes      JSON      NOT NULL,
    scope_name               VARCHAR,
    scope_version            VARCHAR,
    attributes               JSON      NOT NULL,
    events                   JSON,                 -- [{time_unix_nano, name, attributes, ...}]
    links                    JSON,                 -- [{trace_id, span_id, trace_state, attributes, ...}]
    dropped_attributes_count UINTEGER  NOT NULL,
    dropped_events_count     UINTEGER  NOT NULL,
    dropped_links_count      UINTEGER  NOT NULL,
    PRIMARY KEY (tenant_id, trace_id, span_id)
);
