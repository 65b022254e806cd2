"""Small factories for OTLP requests and spans, shaped as agents emit them."""

from __future__ import annotations

import itertools
import os
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentlog.proto import DEFAULT_MAX_ATTRIBUTE_LENGTH, decode_request

_counter = itertools.count(1)


def new_trace_id() -> bytes:
    return os.urandom(16)


def new_span_id() -> bytes:
    return os.urandom(8)


def any_value(value: Any) -> AnyValue:
    """A Python value as an OTLP AnyValue (bytes -> bytes_value, dict -> kvlist, ...)."""
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, list):
        out = AnyValue()
        out.array_value.values.extend(any_value(item) for item in value)
        return out
    if isinstance(value, dict):
        out = AnyValue()
        out.kvlist_value.values.extend(key_values(value))
        return out
    raise TypeError(f"no AnyValue for {value!r}")


def key_values(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=any_value(value)) for key, value in attributes.items()]


def make_span(
    *,
    trace_id: bytes | None = None,
    span_id: bytes | None = None,
    parent_span_id: bytes = b"",
    name: str | None = None,
    attributes: dict[str, Any] | None = None,
    start: int = 1_700_000_000_000_000_000,
    duration: int = 1_000_000,
    status_code: int = 0,
    status_message: str = "",
    kind: int = 1,
) -> Span:
    span = Span(
        trace_id=trace_id or new_trace_id(),
        span_id=span_id or new_span_id(),
        parent_span_id=parent_span_id,
        name=name or f"span-{next(_counter)}",
        kind=kind,
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration,
    )
    span.attributes.extend(key_values(attributes or {}))
    span.status.code = status_code
    span.status.message = status_message
    return span


def make_request(
    spans: list[Span], service_name: str = "test-agent", scope: str = "tests"
) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(key_values({"service.name": service_name}))
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = scope
    scope_spans.scope.version = "1.0"
    scope_spans.spans.extend(spans)
    return request


def agent_spans(count: int, trace_id: bytes | None = None) -> list[Span]:
    """A root and ``count - 1`` children in one trace, with agent-like attributes."""
    trace_id = trace_id or new_trace_id()
    root = make_span(
        trace_id=trace_id, name="invoke_agent bug-triager", attributes={"gen_ai.agent.name": "bug-triager"}
    )
    children = [
        make_span(
            trace_id=trace_id,
            parent_span_id=root.span_id,
            name=f"chat step-{i}",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 100 + i,
                "gen_ai.usage.output_tokens": 20,
            },
        )
        for i in range(count - 1)
    ]
    return [root, *children]


def span_rows(request: ExportTraceServiceRequest, tenant_id: str = "default") -> pa.Table:
    """The span rows the server would insert for ``request`` (every span must be valid)."""
    decoded = decode_request(request.SerializeToString(), "protobuf", tenant_id, DEFAULT_MAX_ATTRIBUTE_LENGTH)
    assert decoded.table is not None, decoded.message
    return decoded.table
