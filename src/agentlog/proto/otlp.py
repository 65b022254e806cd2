"""OTLP wire bytes -> ``ExportTraceServiceRequest``, for protobuf and OTLP/JSON bodies.

OTLP/JSON is proto3's JSON mapping with three differences (OTLP specification,
"JSON Protobuf Encoding"): trace and span ids are hex strings, not base64;
enums are integers; keys are lowerCamelCase. We turn hex ids back into what
the proto3 mapping expects and let protobuf's own JSON parser do the rest, so
both encodings end in the same message and the same decoder.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from agentlog.errors import InvalidRequest

ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def parse_protobuf(body: bytes) -> Any:
    """Protobuf bytes -> request message; InvalidRequest saying why when they are not one."""
    try:
        return ExportTraceServiceRequest.FromString(body)
    except DecodeError as error:
        raise InvalidRequest(f"body is not a valid OTLP ExportTraceServiceRequest: {error}") from None
    except RecursionError:
        raise InvalidRequest("body nests values too deeply") from None


def parse_json(body: bytes) -> Any:
    """OTLP/JSON bytes -> request message; InvalidRequest saying why when they are not one."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidRequest(f"body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidRequest("body must be a JSON object with a resourceSpans array")
    _ids_to_base64(document)
    pb_request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(document, pb_request, ignore_unknown_fields=True)
    except json_format.ParseError as error:
        raise InvalidRequest(f"body is not a valid OTLP/JSON ExportTraceServiceRequest: {error}") from None
    except RecursionError:
        raise InvalidRequest("body nests values too deeply") from None
    return pb_request


def response_protobuf(rejected: int, message: str) -> bytes:
    """An ``ExportTraceServiceResponse`` as protobuf bytes."""
    return _response(rejected, message).SerializeToString()  # type: ignore[no-any-return]


def response_json(rejected: int, message: str) -> bytes:
    """An ``ExportTraceServiceResponse`` as OTLP/JSON bytes (``{}`` when all was stored)."""
    if not rejected and not message:
        return b"{}"
    return orjson.dumps({"partialSuccess": {"rejectedSpans": str(rejected), "errorMessage": message}})


def _response(rejected: int, message: str) -> Any:
    response = ExportTraceServiceResponse()
    if rejected or message:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    return response


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
