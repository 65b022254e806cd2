"""OTLP/gRPC against a real server: the OTel SDK's own exporter, raw stubs for bad input."""

from __future__ import annotations

import gzip
import json
import threading
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import Status, StatusCode

from tests.conftest import ServerHandle, start_server
from tests.factories import agent_spans, make_request, make_span

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def export_raw(endpoint: str, body: bytes, **kwargs: Any) -> bytes:
    """Send raw bytes to Export; returns raw response bytes or raises grpc.RpcError."""
    with grpc.insecure_channel(endpoint) as channel:
        call = channel.unary_unary(EXPORT, request_serializer=None, response_deserializer=None)
        return call(body, timeout=10, **kwargs)  # type: ignore[no-any-return]


def test_sdk_exporter_spans_land_with_typed_attributes(server: ServerHandle) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "triage-svc"}))
    exporter = OTLPSpanExporter(endpoint=server.grpc_endpoint, insecure=True)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("agent", "2.1")
    with tracer.start_as_current_span("invoke_agent triager") as root:
        root.set_attributes({"s": "text", "i": 42, "f": 0.5, "b": True, "arr": ["a", "b"], "ints": [1, 2]})
        with tracer.start_as_current_span("chat gpt-4o") as child:
            child.add_event("exception", {"exception.type": "ValueError", "exception.message": "boom"})
            child.set_status(Status(StatusCode.ERROR, "model refused"))
    provider.shutdown()

    rows = server.query(
        """SELECT name, parent_span_id IS NULL, service_name, scope_name, scope_version, status_code,
                  status_message, kind, json_type(attributes, '$.i'), json_type(attributes, '$.f'),
                  json_type(attributes, '$.b'), json_type(attributes, '$.s'), attributes->'$.arr',
                  events->>'$[0].name', events->>'$[0].attributes."exception.message"',
                  end_time_unix_nano >= start_time_unix_nano
           FROM stored_spans ORDER BY start_time_unix_nano"""
    )
    assert rows == [
        ("invoke_agent triager", True, "triage-svc", "agent", "2.1", 0, None, 1,
         "UBIGINT", "DOUBLE", "BOOLEAN", "VARCHAR", '["a","b"]', None, None, True),
        ("chat gpt-4o", False, "triage-svc", "agent", "2.1", 2, "model refused", 1,
         None, None, None, None, None, "exception", "boom", True),
    ]  # fmt: skip
    (same_trace,) = server.query("SELECT count(DISTINCT trace_id) = 1 FROM stored_spans")[0]
    assert same_trace


def test_retried_request_stores_each_span_once(server: ServerHandle) -> None:
    body = make_request(agent_spans(5)).SerializeToString()
    for _ in range(3):
        export_raw(server.grpc_endpoint, body)
    assert server.span_count() == 5


def test_children_before_parents_and_a_trace_over_many_requests(server: ServerHandle) -> None:
    spans = agent_spans(6)
    for span in reversed(spans):  # root last, one span per request
        export_raw(server.grpc_endpoint, make_request([span]).SerializeToString())
    rows = server.query(
        "SELECT count(*), count(DISTINCT trace_id), count(*) FILTER (parent_span_id IS NULL) FROM stored_spans"
    )
    assert rows == [(6, 1, 1)]


def test_malformed_protobuf_is_invalid_argument_and_loses_nothing(server: ServerHandle) -> None:
    export_raw(server.grpc_endpoint, make_request(agent_spans(3)).SerializeToString())
    with pytest.raises(grpc.RpcError) as caught:
        export_raw(server.grpc_endpoint, b"\x0a\xff\xff\xff\xff\x0f garbage")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid OTLP ExportTraceServiceRequest" in caught.value.details()
    assert server.span_count() == 3


def test_invalid_ids_are_partial_success_and_the_rest_stored(server: ServerHandle) -> None:
    good = agent_spans(2)
    bad = make_span(trace_id=b"\x01" * 3, name="short-trace-id")
    zero = make_span(span_id=b"\x00" * 8, name="zero-span-id")
    raw = export_raw(server.grpc_endpoint, make_request([*good, bad, zero]).SerializeToString())
    response = ExportTraceServiceResponse.FromString(raw)
    assert response.partial_success.rejected_spans == 2
    assert "short-trace-id" in response.partial_success.error_message
    assert "all zeros" in response.partial_success.error_message
    assert server.span_count() == 2


def test_message_over_the_limit_is_resource_exhausted(db_path: Any) -> None:
    handle = start_server(db=str(db_path), max_grpc_message_bytes=64 * 1024)
    try:
        big = make_span(attributes={"input.value": "x" * 100_000})
        with pytest.raises(grpc.RpcError) as caught:
            export_raw(handle.grpc_endpoint, make_request([big]).SerializeToString())
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # A compressed message that inflates past the limit is refused the same way.
        bomb = make_request([make_span(attributes={"input.value": "a" * 1_000_000})]).SerializeToString()
        assert len(gzip.compress(bomb)) < 64 * 1024
        with pytest.raises(grpc.RpcError) as caught:
            export_raw(handle.grpc_endpoint, bomb, compression=grpc.Compression.Gzip)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        export_raw(handle.grpc_endpoint, make_request(agent_spans(2)).SerializeToString())
        assert handle.span_count() == 2
    finally:
        handle.stop()


def test_gzip_compressed_export_is_stored(server: ServerHandle) -> None:
    body = make_request(agent_spans(4)).SerializeToString()
    export_raw(server.grpc_endpoint, body, compression=grpc.Compression.Gzip)
    assert server.span_count() == 4


def test_overload_is_unavailable_with_retry_info(db_path: Any) -> None:
    # A writer that cannot keep up is simulated by a queue bound smaller than two requests.
    handle = start_server(db=str(db_path), max_queued_spans=1)
    try:
        results: list[Any] = []
        bodies = [make_request(agent_spans(50)).SerializeToString() for _ in range(16)]

        def send(body: bytes) -> None:
            try:
                export_raw(handle.grpc_endpoint, body)
                results.append("ok")
            except grpc.RpcError as error:
                results.append(error)

        threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        refused = [r for r in results if r != "ok"]
        accepted = results.count("ok")
        assert accepted >= 1
        assert refused, "a queue bound of one span must refuse concurrent requests"
        for error in refused:
            assert error.code() == grpc.StatusCode.UNAVAILABLE
            details = dict(error.trailing_metadata())["grpc-status-details-bin"]
            status = status_pb2.Status.FromString(details)
            retry = error_details_pb2.RetryInfo()
            assert status.details[0].Unpack(retry)
            assert retry.retry_delay.seconds >= 1
        assert handle.span_count() == accepted * 50
    finally:
        handle.stop()


def test_sdk_exporter_reports_success_only_after_commit(server: ServerHandle) -> None:
    exporter = OTLPSpanExporter(endpoint=server.grpc_endpoint, insecure=True)
    provider = TracerProvider()
    tracer = provider.get_tracer("t")
    spans = []
    for i in range(20):
        with tracer.start_as_current_span(f"s{i}") as span:
            spans.append(span)
    assert exporter.export(spans) is SpanExportResult.SUCCESS  # type: ignore[arg-type]
    assert server.span_count() == 20
    exporter.shutdown()
    assert (
        json.loads(server.query("SELECT resource_attributes FROM stored_spans LIMIT 1")[0][0])["telemetry.sdk.language"]
        == "python"
    )
