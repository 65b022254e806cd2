"""One OTLP logs export request -> one Arrow table of log record rows (``LOG_ROWS``).

The logs twin of ``rows.decode_request``: both transports and both encodings
call ``decode_log_request``, and the store inserts what it returns. Log
records come a few per span, not hundreds, so this reads the parsed protobuf
message record by record, with the helpers the span decoders share
(``anyvalue``: the same JSON for the same values, the same cut of long
strings, ``ids`` and ``times``: the same rules for ids and times).

A log record has no id of its own. Each row carries ``record_hash``, a
128-bit BLAKE2b digest of the record as protobuf serializes it
deterministically, with its resource and its scope: a retried request gives
the same digests, and the store keeps one row per (tenant, digest). Two records
equal in every field, both timestamps included, are therefore one record; an
SDK stamps each record's observed time in nanoseconds, so distinct records
practically never are. Protobuf and OTLP/JSON bodies spelling the same record
give the same digest (both are parsed into the message first).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pyarrow as pa

from agentlog.proto.anyvalue import JSONValue, attributes_to_python, value_to_python
from agentlog.proto.ids import SPAN_ID_BYTES, TRACE_ID_BYTES, TRACE_ID_TYPE, InvalidId, trace_id_bytes
from agentlog.proto.otlp import parse_json, parse_protobuf
from agentlog.proto.rows import Decoded, Encoding
from agentlog.proto.spans import MAX_REASONS
from agentlog.proto.times import MAX_TIME_NS, MAX_TIME_TEXT, InvalidTime

EVENT_NAME_ATTRIBUTE = "event.name"
"""Where events were named before LogRecord had ``event_name`` (field 12); read when that is empty."""

LOG_ROWS = pa.schema(
    [
        ("tenant_id", pa.string()),
        # The digest and the trace id travel as their 16 bytes, cast to UUID by the INSERT (as spans' trace ids).
        ("record_hash", TRACE_ID_TYPE),
        ("trace_id", TRACE_ID_TYPE),  # null: the record belongs to no trace
        ("span_id", pa.uint64()),  # null: to no span
        ("time_unix_nano", pa.uint64()),  # as sent; 0 when unknown
        ("observed_time_unix_nano", pa.uint64()),  # as sent; 0 when unknown
        ("effective_time_unix_nano", pa.uint64()),  # the first of the two that is set, else 0
        ("severity_number", pa.int32()),
        ("severity_text", pa.string()),
        ("event_name", pa.string()),
        ("body", pa.string()),  # JSON text of the AnyValue; null when unset
        ("attributes", pa.string()),
        ("resource_attributes", pa.string()),
        ("service_name", pa.string()),
        ("scope_name", pa.string()),
        ("scope_version", pa.string()),
        ("flags", pa.uint32()),
        ("dropped_attributes_count", pa.uint32()),
    ]
)
"""A log record row as the store inserts it."""


def decode_log_request(body: bytes, encoding: Encoding, tenant_id: str, max_attribute_length: int) -> Decoded:
    """Parse and decode one ``ExportLogsServiceRequest``; InvalidRequest when the body is not one.

    Records that cannot be stored (an id of the wrong length, a time past the
    latest a timestamp holds) are left out and counted, with their reasons,
    as ``partial_success`` reports them; the others are the table."""
    request = parse_json(body, "logs") if encoding == "json" else parse_protobuf(body, "logs")
    rows = _Rows(tenant_id, max_attribute_length)
    for resource_logs in request.resource_logs:
        resource = _Resource(resource_logs.resource, max_attribute_length)
        for scope_logs in resource_logs.scope_logs:
            scope_bytes = scope_logs.scope.SerializeToString(deterministic=True)
            for record in scope_logs.log_records:
                rows.add(record, resource, scope_logs.scope, scope_bytes)
    message = rejection_message(rows.rejected, rows.reasons)
    if not rows.columns["tenant_id"]:
        return Decoded(None, rows.rejected, message)
    return Decoded(pa.Table.from_pydict(rows.columns, schema=LOG_ROWS), rows.rejected, message)


def rejection_message(rejected: int, reasons: list[str]) -> str:
    """``partial_success.error_message`` for ``rejected`` log records, the first of whose reasons are given."""
    if not rejected:
        return ""
    more = rejected - len(reasons)
    tail = f"; and {more} more" if more > 0 else ""
    return f"{rejected} log record(s) rejected: " + "; ".join(reasons) + tail


def record_hash(resource_bytes: bytes, scope_bytes: bytes, record_bytes: bytes) -> int:
    """The 128-bit key of a record: BLAKE2b over its resource, scope and record (each length-prefixed,
    so that no two different triples give the same input)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (resource_bytes, scope_bytes, record_bytes):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return int.from_bytes(digest.digest(), "big")


class _Resource:
    """What every record of one ``ResourceLogs`` shares: its attributes' JSON, service name and bytes."""

    def __init__(self, resource: Any, max_length: int) -> None:
        attributes = attributes_to_python(resource.attributes, max_length)
        service = attributes.get("service.name")
        self.service_name = service if isinstance(service, str) else None
        self.attributes_json = _dumps(attributes)
        self.serialized = resource.SerializeToString(deterministic=True)


class _Rows:
    """The columns of ``LOG_ROWS``, a record at a time, and the records rejected."""

    def __init__(self, tenant_id: str, max_length: int) -> None:
        self.tenant_id = tenant_id
        self.max_length = max_length
        self.columns: dict[str, list[Any]] = {name: [] for name in LOG_ROWS.names}
        self.rejected = 0
        self.reasons: list[str] = []

    def add(self, record: Any, resource: _Resource, scope: Any, scope_bytes: bytes) -> None:
        try:
            trace_id = _optional_id(record.trace_id, TRACE_ID_BYTES, "trace_id")
            span_id = _optional_id(record.span_id, SPAN_ID_BYTES, "span_id")
            _check_times(record)
        except (InvalidId, InvalidTime) as error:
            self._reject(f"log record {len(self.columns['tenant_id']) + self.rejected}: {error}")
            return
        key = record_hash(resource.serialized, scope_bytes, record.SerializeToString(deterministic=True))
        attributes = attributes_to_python(record.attributes, self.max_length)
        values = {
            "tenant_id": self.tenant_id,
            "record_hash": trace_id_bytes(key),
            "trace_id": trace_id_bytes(trace_id),
            "span_id": span_id,
            "time_unix_nano": record.time_unix_nano,
            "observed_time_unix_nano": record.observed_time_unix_nano,
            "effective_time_unix_nano": record.time_unix_nano or record.observed_time_unix_nano,
            "severity_number": record.severity_number,
            "severity_text": record.severity_text or None,
            "event_name": _event_name(record.event_name, attributes),
            "body": _dumps(value_to_python(record.body, self.max_length)) if record.HasField("body") else None,
            "attributes": _dumps(attributes),
            "resource_attributes": resource.attributes_json,
            "service_name": resource.service_name,
            "scope_name": scope.name or None,
            "scope_version": scope.version or None,
            "flags": record.flags,
            "dropped_attributes_count": record.dropped_attributes_count,
        }
        for name, value in values.items():
            self.columns[name].append(value)

    def _reject(self, reason: str) -> None:
        self.rejected += 1
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(reason)


def _optional_id(raw: bytes, size: int, field: str) -> int | None:
    """An id a log record may leave out: None when empty or all zeros, InvalidId when of another length."""
    if len(raw) not in (0, size):
        raise InvalidId(f"{field} must be empty or {size} bytes, got {len(raw)}")
    return int.from_bytes(raw, "big") or None


def _check_times(record: Any) -> None:
    """InvalidTime when a time is past what a timestamp holds (the reads show them as timestamps)."""
    for field in ("time_unix_nano", "observed_time_unix_nano"):
        value = getattr(record, field)
        if value > MAX_TIME_NS:
            raise InvalidTime(f"{field} {value} is after {MAX_TIME_TEXT}, the latest time agentlog can store")


def _event_name(event_name: str, attributes: dict[str, JSONValue]) -> str | None:
    """LogRecord's ``event_name``, else its ``event.name`` attribute (older SDKs), else None."""
    if event_name:
        return event_name
    legacy = attributes.get(EVENT_NAME_ATTRIBUTE)
    return legacy if isinstance(legacy, str) and legacy else None


def _dumps(value: JSONValue) -> str:
    return orjson.dumps(value).decode()
