"""Impossible span times over the real receivers: refused one by one with a reason, or stored with the fact kept.

Each request mixes spans that can be stored with spans that cannot; the
sender learns, in ``partial_success``, how many were refused and why, the
rest is stored, and every read works afterwards.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx
import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.api.every_read import read_everything
from tests.collector.test_grpc_receiver import export_raw
from tests.conftest import ServerHandle
from tests.factories import make_request, make_span, new_trace_id

SECOND = 1_000_000_000
SENT_END = "agentlog.sent_end_time_unix_nano"


def _request(now: int) -> tuple[ExportTraceServiceRequest, str]:
    """A run whose root and two children can be stored, and three spans that cannot; and the run's id."""
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="root", start=now, duration=5 * SECOND)

    def child(name: str, start: int, end: int) -> Any:
        span = make_span(trace_id=trace_id, parent_span_id=root.span_id, name=name, start=start)
        span.end_time_unix_nano = end
        return span

    spans = [
        root,
        child("backwards", now + 2 * SECOND, now + SECOND),  # a skewed clock: ends before it starts
        child("unended", now + 3 * SECOND, 0),  # no end time sent
        child("no start", 0, now),
        child("too late", 2**63, 2**63 + SECOND),  # past what a TIMESTAMP_NS holds
        child("ends too late", now, 2**64 - 1),
    ]
    return make_request(spans), trace_id.hex()


def _send(server: ServerHandle, transport: str, request: ExportTraceServiceRequest) -> tuple[int, str]:
    """(rejected_spans, error_message) of the answer to ``request`` over ``transport``."""
    if transport == "grpc":
        response = ExportTraceServiceResponse.FromString(export_raw(server.grpc_endpoint, request.SerializeToString()))
        return response.partial_success.rejected_spans, response.partial_success.error_message
    if transport == "http/protobuf":
        answer = httpx.post(
            server.http_url,
            content=request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert answer.status_code == 200, answer.text
        response = ExportTraceServiceResponse.FromString(answer.content)
        return response.partial_success.rejected_spans, response.partial_success.error_message
    answer = httpx.post(
        server.http_url, content=orjson.dumps(_otlp_json(request)), headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    partial = answer.json()["partialSuccess"]
    return int(partial["rejectedSpans"]), partial["errorMessage"]


def _otlp_json(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """OTLP/JSON as a sender writes it: hex ids, 64-bit integers as strings."""
    document = json_format.MessageToDict(request)
    for resource_spans in document["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return document


@pytest.mark.parametrize("transport", ["grpc", "http/protobuf", "http/json"])
def test_impossible_times_are_refused_or_kept_and_every_read_still_works(server: ServerHandle, transport: str) -> None:
    now = time.time_ns() // SECOND * SECOND - 3600 * SECOND
    request, run_id = _request(now)

    rejected, message = _send(server, transport, request)

    assert rejected == 3
    assert message.startswith("3 span(s) rejected: ")
    assert "span 'no start': start_time_unix_nano is 0" in message
    assert (
        "span 'too late': start_time_unix_nano 9223372036854775808 is after 2262-04-11T23:47:16.854775806Z" in message
    )
    assert "span 'ends too late': end_time_unix_nano 18446744073709551615 is after 2262-04-11" in message
    stored = server.query(
        f"""SELECT name, start_time_unix_nano, end_time_unix_nano, attributes->>'$."{SENT_END}"'
            FROM stored_spans ORDER BY start_time_unix_nano"""
    )
    assert stored == [
        ("root", now, now + 5 * SECOND, None),
        ("backwards", now + 2 * SECOND, now + 2 * SECOND, str(now + SECOND)),
        ("unended", now + 3 * SECOND, now + 3 * SECOND, "0"),
    ]

    seen = read_everything(server.api_url, [run_id])
    nodes = {node["id"]: node for node in seen["logs"][run_id]["nodes"]}
    assert (nodes["backwards"]["duration_ms"], nodes["unended"]["duration_ms"]) == (0.0, 0.0)
    assert nodes["backwards"]["attributes"][SENT_END] == now + SECOND
    assert [row["runs"] for row in seen["metrics"]["agents"]] == [1]
    assert seen["export"]["spans"].num_rows == 3
