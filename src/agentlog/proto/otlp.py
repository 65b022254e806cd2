"""OTLP wire bytes -> an export request message, for protobuf and OTLP/JSON bodies, of either signal.

Traces (``ExportTraceServiceRequest``) and logs (``ExportLogsServiceRequest``)
take the same steps; ``Signal`` names which, and ``_SIGNALS`` holds what
differs (the messages, the JSON names, the ``partial_success`` counter).

OTLP/JSON is proto3's JSON mapping with three differences (OTLP specification,
"JSON Protobuf Encoding"): trace and span ids are hex strings, not base64;
enums are integers; keys are lowerCamelCase. We turn hex ids back into what
the proto3 mapping expects and let protobuf's own JSON parser do the rest, so
both encodings end in the same message and the same decoder.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from agentlog.errors import InvalidRequest

ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")

Signal = Literal["traces", "logs"]
"""Which OTLP signal a request carries: the receivers serve both with one set of machinery."""


@dataclass(frozen=True, slots=True)
class _SignalMessages:
    request: Any
    response: Any
    resource_key: str
    """The request's top-level JSON array (lowerCamelCase)."""
    rejected_field: str
    """``partial_success``'s counter, as protobuf names it; the JSON name is its lowerCamelCase."""
    rejected_json: str
    ids_to_base64: Callable[[dict[str, Any]], None]


def parse_protobuf(body: bytes, signal: Signal = "traces") -> Any:
    """Protobuf bytes -> request message; InvalidRequest saying why when they are not one."""
    request = _SIGNALS[signal].request
    try:
        return request.FromString(body)
    except DecodeError as error:
        raise InvalidRequest(f"body is not a valid OTLP {request.__name__}: {error}") from None
    except RecursionError:
        raise InvalidRequest("body nests values too deeply") from None


def parse_json(body: bytes, signal: Signal = "traces") -> Any:
    """OTLP/JSON bytes -> request message; InvalidRequest saying why when they are not one."""
    messages = _SIGNALS[signal]
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidRequest(f"body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidRequest(f"body must be a JSON object with a {messages.resource_key} array")
    messages.ids_to_base64(document)
    pb_request = messages.request()
    try:
        json_format.ParseDict(document, pb_request, ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise InvalidRequest(f"body is not a valid OTLP/JSON {messages.request.__name__}: {error}") from None
    except RecursionError:
        raise InvalidRequest("body nests values too deeply") from None
    return pb_request


def response_protobuf(rejected: int, message: str, signal: Signal = "traces") -> bytes:
    """The signal's export response (``ExportTraceServiceResponse``, ...) as protobuf bytes."""
    return _response(rejected, message, signal).SerializeToString()  # type: ignore[no-any-return]


def response_json(rejected: int, message: str, signal: Signal = "traces") -> bytes:
    """The signal's export response as OTLP/JSON bytes (``{}`` when all was stored)."""
    if not rejected and not message:
        return b"{}"
    counter = _SIGNALS[signal].rejected_json
    return orjson.dumps({"partialSuccess": {counter: str(rejected), "errorMessage": message}})


def _response(rejected: int, message: str, signal: Signal) -> Any:
    messages = _SIGNALS[signal]
    response = messages.response()
    if rejected or message:
        setattr(response.partial_success, messages.rejected_field, rejected)
        response.partial_success.error_message = message
    return response


def _log_ids_to_base64(document: dict[str, Any]) -> None:
    """Rewrite the hex trace and span ids of log records in place into proto3 JSON's base64."""
    for resource_logs in _dicts(document.get("resourceLogs", document.get("resource_logs"))):
        for scope_logs in _dicts(resource_logs.get("scopeLogs", resource_logs.get("scope_logs"))):
            for record in _dicts(scope_logs.get("logRecords", scope_logs.get("log_records"))):
                _rewrite_ids(record)


def _ids_to_base64(document: dict[str, Any]) -> None:
    """Rewrite the hex ids of spans and links in place into proto3 JSON's base64."""
    for resource_spans in _dicts(document.get("resourceSpans", document.get("resource_spans"))):
        for scope_spans in _dicts(resource_spans.get("scopeSpans", resource_spans.get("scope_spans"))):
            for span in _dicts(scope_spans.get("spans")):
                _rewrite_ids(span)
                for link in _dicts(span.get("links")):
                    _rewrite_ids(link)


def _dicts(value: Any) -> list[dict[str, Any]]:
    # Wrong shapes are left for protobuf's parser, which names the field in its error.
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def _rewrite_ids(obj: dict[str, Any]) -> None:
    for key in ID_KEYS:
        value = obj.get(key)
        if isinstance(value, str):
            obj[key] = base64.b64encode(_id_bytes(value)).decode("ascii")


def _id_bytes(text: str) -> bytes:
    """Hex as the OTLP spec says; base64 as some older senders did. Junk -> b"" (rejected later)."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return b""


_SIGNALS: dict[Signal, _SignalMessages] = {
    "traces": _SignalMessages(
        ExportTraceServiceRequest, ExportTraceServiceResponse, "resourceSpans", "rejected_spans", "rejectedSpans",
        _ids_to_base64,
    ),
    "logs": _SignalMessages(
        ExportLogsServiceRequest, ExportLogsServiceResponse, "resourceLogs", "rejected_log_records",
        "rejectedLogRecords", _log_ids_to_base64,
    ),
}  # fmt: skip
