-- OTLP log records, one row per (tenant, record_hash).
--
-- A log record has no id: record_hash is a 128-bit digest of the record with
-- its resource and scope (agentlog.proto.logs), and the writer drops a record
-- whose digest the tenant has stored already (agentlog.store.log_records), so
-- a retried request stores nothing twice. No index, as stored_spans has none:
-- the duplicate check looks only at the row groups whose times the batch's
-- times fall in (zone maps on effective_time_unix_nano; records arrive
-- roughly in time order).
--
-- Ids are integers as in stored_spans (trace UHUGEINT, span UBIGINT; NULL when
-- the record belongs to no trace or span); the view log_records shows them as
-- hex. Times are as sent, 0 when not sent; effective_time_unix_nano is the
-- record's time, else its observed time (the OTel logs data model's rule),
-- else 0. body, attributes and resource_attributes are JSON text, as spans'.
CREATE TABLE stored_log_records (
    tenant_id                VARCHAR   NOT NULL,
    record_hash              UHUGEINT  NOT NULL,
    trace_id                 UHUGEINT,
    span_id                  UBIGINT,
    time_unix_nano           UBIGINT   NOT NULL,
    observed_time_unix_nano  UBIGINT   NOT NULL,
    effective_time_unix_nano UBIGINT   NOT NULL,
    severity_number          INTEGER   NOT NULL,
    severity_text            VARCHAR,
    event_name               VARCHAR,
    body                     JSON,
    attributes               JSON      NOT NULL,
    resource_attributes      JSON      NOT NULL,
    service_name             VARCHAR,
    scope_name               VARCHAR,
    scope_version            VARCHAR,
    flags                    UINTEGER  NOT NULL,
    dropped_attributes_count UINTEGER  NOT NULL,
    commit_seq               BIGINT    NOT NULL
);
