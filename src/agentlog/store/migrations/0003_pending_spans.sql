-- Live-status markers: a span announced as started whose real span has not
-- arrived. span_id is the announced span's id. A marker never counts as a node;
-- the writer deletes it when its span arrives, and readers ignore any marker
-- whose span is already stored (a marker may arrive after its span).
CREATE TABLE pending_spans (
    tenant_id            VARCHAR  NOT NULL,
    trace_id             UHUGEINT NOT NULL,
    span_id              UBIGINT  NOT NULL,
    parent_span_id       UBIGINT,
    name                 VARCHAR  NOT NULL,
    start_time_unix_nano UBIGINT  NOT NULL,
    node_type            VARCHAR,
    attributes           JSON     NOT NULL,
    PRIMARY KEY (tenant_id, trace_id, span_id)
);
