-- Every stored log record, ids as hex, times as timestamps (UTC, by times.sql).
-- `time` is the record's time, else its observed time (NULL when neither was
-- sent); both as sent stay in the *_unix_nano columns.
CREATE OR REPLACE VIEW log_records AS
SELECT
    tenant_id,
    CASE WHEN trace_id IS NOT NULL THEN trace_hex(trace_id) END AS trace_id,
    CASE WHEN span_id IS NOT NULL THEN printf('%016x', span_id) END AS span_id,
    CASE WHEN effective_time_unix_nano > 0 THEN ns_timestamp(effective_time_unix_nano) END AS time,
    severity_number,
    severity_text,
    event_name,
    body,
    attributes,
    service_name,
    scope_name,
    scope_version,
    resource_attributes,
    time_unix_nano,
    observed_time_unix_nano,
    flags,
    dropped_attributes_count,
    commit_seq
FROM stored_log_records;
