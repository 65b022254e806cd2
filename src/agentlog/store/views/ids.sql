-- A stored trace id (a UUID: migration 0018) as readers show it: 32 lowercase
-- hex digits, as OTLP/JSON and W3C trace context write it.
CREATE OR REPLACE MACRO trace_hex(id) AS replace(id::VARCHAR, '-', '');
