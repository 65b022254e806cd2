"""OTLP/HTTP against a real server: the OTel SDK's HTTP exporter, JSON bodies, and bad input."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import httpx
import orjson
import pytest
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.conftest import ServerHandle, start_server
from tests.factories import agent_spans, make_request, make_span

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def otlp_json(trace_id: str = "5b8efff798038103d269b633813fc60c") -> dict[str, object]:
    """An OTLP/JSON body as the specification's example writes one."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-agent"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "my.library", "version": "1.0.0"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": "eee19b7ec3c1b174",
                                "name": "invoke_agent planner",
                                "startTimeUnixNano": "1544712660000000000",
                                "endTimeUnixNano": "1544712661000000000",
                                "kind": 2,
                                "attributes": [
                                    {"key": "count", "value": {"intValue": "9007199254740993"}},
                                    {"key": "ratio", "value": {"doubleValue": 0.25}},
                                    {"key": "ok", "value": {"boolValue": True}},
                                    {"key": "blob", "value": {"bytesValue": "AAEC"}},
                                    {"key": "list", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": 2}]}}},
                                    {"key": "map", "value": {"kvlistValue": {"values": [{"key": "k", "value": {"stringValue": "v"}}]}}},
                                ],
                                "status": {"code": 2, "message": "tool failed"},
                                "events": [{"timeUnixNano": "1544712660500000000", "name": "exception", "attributes": [{"key": "exception.type", "value": {"stringValue": "KeyError"}}]}],
                                "unknownFutureField": {"ignored": True},
                            },
                            {
                                "traceId": trace_id,
                                "spanId": "eee19b7ec3c1b175",
                                "parentSpanId": "eee19b7ec3c1b174",
                                "name": "execute_tool search",
                                "startTimeUnixNano": "1544712660100000000",
                                "endTimeUnixNano": "1544712660200000000",
                            },
                        ],
                    }
                ],
            }
        ]
    }  # fmt: skip


def test_sdk_http_exporter_with_gzip(server: ServerHandle) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "http-agent"}))
    exporter = OTLPSpanExporter(endpoint=server.http_url, compression=Compression.Gzip)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("agent")
    with tracer.start_as_current_span("root") as root:
        root.set_attribute("gen_ai.usage.input_tokens", 120)
        with tracer.start_as_current_span("child"):
            pass
    provider.shutdown()
    rows = server.query(
        "SELECT name, service_name, attributes->>'$.\"gen_ai.usage.input_tokens\"' FROM stored_spans ORDER BY name"
    )
    assert rows == [("child", "http-agent", None), ("root", "http-agent", "120")]


def test_otlp_json_body_is_stored_typed_and_answered_in_json(server: ServerHandle) -> None:
    response = httpx.post(server.http_url, content=orjson.dumps(otlp_json()), headers=JSON)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    rows = server.query(
        """SELECT trace_hex(trace_id), printf('%016x', span_id), kind, status_code, status_message,
                  attributes->>'$.count', json_type(attributes, '$.ratio'), attributes->'$.ok',
                  attributes->'$.blob', attributes->'$.list', attributes->'$.map',
                  events->>'$[0].attributes."exception.type"', start_time_unix_nano
           FROM stored_spans WHERE parent_span_id IS NULL"""
    )
    assert rows == [
        ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", 2, 2, "tool failed",
         "9007199254740993", "DOUBLE", "true", '{"bytesValue":"AAEC"}', '["a",2]', '{"k":"v"}',
         "KeyError", 1544712660000000000),
    ]  # fmt: skip
    (parent,) = server.query(
        "SELECT printf('%016x', parent_span_id) FROM stored_spans WHERE parent_span_id IS NOT NULL"
    )[0]
    assert parent == "eee19b7ec3c1b174"


def test_json_with_an_invalid_id_is_partial_success(server: ServerHandle) -> None:
    body = otlp_json()
    spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"]  # type: ignore[index]
    spans[1]["traceId"] = "not-hex"
    response = httpx.post(server.http_url, content=orjson.dumps(body), headers=JSON)
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "execute_tool search" in partial["errorMessage"]
    assert server.span_count() == 1


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"resourceSpans": 5}', "not a valid OTLP/JSON"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}', "not a valid OTLP/JSON"),
    ],
)
def test_malformed_json_is_400_in_json_and_loses_nothing(server: ServerHandle, body: bytes, expected: str) -> None:
    httpx.post(server.http_url, content=make_request(agent_spans(2)).SerializeToString(), headers=PROTOBUF)
    response = httpx.post(server.http_url, content=body, headers=JSON)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == 3  # INVALID_ARGUMENT
    assert expected in response.json()["message"]
    assert server.span_count() == 2


def test_malformed_protobuf_is_400_with_a_status_message(server: ServerHandle) -> None:
    response = httpx.post(server.http_url, content=b"\x0a\x05abc", headers=PROTOBUF)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/x-protobuf"
    status = status_pb2.Status.FromString(response.content)
    assert "not a valid OTLP ExportTraceServiceRequest" in status.message


def test_protobuf_partial_success_response(server: ServerHandle) -> None:
    body = make_request([*agent_spans(2), make_span(span_id=b"\x01\x02", name="short")]).SerializeToString()
    response = httpx.post(server.http_url, content=body, headers=PROTOBUF)
    assert response.status_code == 200
    parsed = ExportTraceServiceResponse.FromString(response.content)
    assert parsed.partial_success.rejected_spans == 1
    assert "span_id must be 8 bytes, got 2" in parsed.partial_success.error_message


def test_unsupported_content_type_and_encoding_are_415(server: ServerHandle) -> None:
    assert httpx.post(server.http_url, content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    response = httpx.post(server.http_url, content=b"x", headers={**PROTOBUF, "Content-Encoding": "br"})
    assert response.status_code == 415
    assert "Content-Encoding" in status_pb2.Status.FromString(response.content).message


def test_body_over_the_limit_is_413_and_a_gzip_bomb_is_refused(db_path: Path) -> None:
    handle = start_server(db=str(db_path), max_http_body_bytes=100_000, max_decompressed_bytes=1_000_000)
    try:
        big = make_request([make_span(attributes={"input.value": "x" * 200_000})]).SerializeToString()
        assert httpx.post(handle.http_url, content=big, headers=PROTOBUF).status_code == 413

        # Chunked (no Content-Length), as the OTel JS exporters send: refused all the same.
        def chunks() -> object:
            for start in range(0, len(big), 8192):
                yield big[start : start + 8192]

        chunked = httpx.post(handle.http_url, content=chunks(), headers=PROTOBUF)  # type: ignore[arg-type]
        assert chunked.status_code == 413

        bomb = gzip.compress(b"\x00" * 50_000_000)
        assert len(bomb) < 100_000
        response = httpx.post(handle.http_url, content=bomb, headers={**PROTOBUF, "Content-Encoding": "gzip"})
        assert response.status_code == 413
        assert "decompresses to more than" in status_pb2.Status.FromString(response.content).message

        ok = make_request(agent_spans(3)).SerializeToString()
        assert (
            httpx.post(
                handle.http_url, content=gzip.compress(ok), headers={**PROTOBUF, "Content-Encoding": "gzip"}
            ).status_code
            == 200
        )
        assert (
            httpx.post(
                handle.http_url, content=zlib.compress(ok), headers={**PROTOBUF, "Content-Encoding": "deflate"}
            ).status_code
            == 200
        )
        assert handle.span_count() == 3  # the same spans twice: stored once
    finally:
        handle.stop()


def test_corrupt_gzip_is_400(server: ServerHandle) -> None:
    body = gzip.compress(make_request(agent_spans(2)).SerializeToString())
    for broken in (b"not gzip at all", body[: len(body) // 2]):
        response = httpx.post(server.http_url, content=broken, headers={**PROTOBUF, "Content-Encoding": "gzip"})
        assert response.status_code == 400
    assert server.span_count() == 0


def test_only_post_on_v1_traces(server: ServerHandle) -> None:
    assert httpx.get(server.http_url).status_code == 405
    assert (
        httpx.post(server.http_url.replace("/v1/traces", "/v1/metrics"), content=b"", headers=PROTOBUF).status_code
        == 404
    )


def test_a_gzip_body_of_two_members_stores_the_spans_of_both(server: ServerHandle) -> None:
    # Two requests' bytes in one body, each its own gzip member: protobuf concatenation merges them.
    first, second = make_request(agent_spans(3)), make_request(agent_spans(4))
    body = gzip.compress(first.SerializeToString()) + gzip.compress(second.SerializeToString())
    response = httpx.post(server.http_url, content=body, headers={**PROTOBUF, "Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert not ExportTraceServiceResponse.FromString(response.content).HasField("partial_success")
    assert server.span_count() == 7


def test_trailing_garbage_after_a_gzip_stream_is_400_and_stores_nothing(server: ServerHandle) -> None:
    body = gzip.compress(make_request(agent_spans(3)).SerializeToString())
    for trailer, encoding in ((b"garbage", "gzip"), (b"\x1f\x8bnot really", "gzip"), (b"junk", "deflate")):
        payload = zlib.compress(gzip.decompress(body)) if encoding == "deflate" else body
        response = httpx.post(
            server.http_url, content=payload + trailer, headers={**PROTOBUF, "Content-Encoding": encoding}
        )
        assert response.status_code == 400, trailer
        message = status_pb2.Status.FromString(response.content).message
        assert "after" in message or "follows" in message, message
    assert server.span_count() == 0
