"""The OTLP logs signal against a real server: the OTel SDK's log exporters, OTLP/JSON, retries, bad input."""

from __future__ import annotations

import asyncio
import gzip
import threading
from pathlib import Path
from typing import Any

import grpc
import httpx
import orjson
import pytest
import uvicorn
from google.rpc import status_pb2
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as PbLogRecord
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from agentlog.collector.admission import Admission
from agentlog.collector.grpc_receiver import build_grpc_server
from agentlog.collector.http_receiver import ExportEndpoint, build_http_app
from agentlog.collector.intake import Intake
from agentlog.collector.writer import SpanWriter
from agentlog.proto.times import MAX_TIME_NS
from agentlog.server import listening_socket
from agentlog.store import Database
from tests.conftest import ServerHandle, start_server
from tests.factories import any_value, key_values, new_span_id, new_trace_id

LOGS_EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}
T0 = 1_780_000_000 * 10**9


def logs_url(server: ServerHandle) -> str:
    return f"http://127.0.0.1:{server.running.http_port}/v1/logs"


def export_logs_raw(endpoint: str, body: bytes, **kwargs: Any) -> bytes:
    """Send raw bytes to LogsService/Export; the raw response bytes, or grpc.RpcError."""
    with grpc.insecure_channel(endpoint) as channel:
        call = channel.unary_unary(LOGS_EXPORT, request_serializer=None, response_deserializer=None)
        return call(body, timeout=10, **kwargs)  # type: ignore[no-any-return]


def make_record(
    *,
    trace_id: bytes = b"",
    span_id: bytes = b"",
    time_ns: int = T0,
    event_name: str = "",
    body: Any = None,
    attributes: dict[str, Any] | None = None,
    severity: int = 9,
) -> PbLogRecord:
    record = PbLogRecord(
        time_unix_nano=time_ns,
        observed_time_unix_nano=time_ns + 1,
        trace_id=trace_id,
        span_id=span_id,
        event_name=event_name,
        severity_number=severity,  # type: ignore[arg-type]
        severity_text="INFO" if severity == 9 else "ERROR",
    )
    if body is not None:
        record.body.CopyFrom(any_value(body))
    record.attributes.extend(key_values(attributes or {}))
    return record


def make_logs_request(records: list[PbLogRecord], service_name: str = "log-agent") -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.extend(key_values({"service.name": service_name}))
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = "tests.logs"
    scope_logs.scope.version = "1.0"
    scope_logs.log_records.extend(records)
    return request


def stored(server: ServerHandle, columns: str | None = None) -> list[tuple[Any, ...]]:
    """The stored records' ``columns``, oldest first; or how many there are."""
    if columns is None:
        return server.query("SELECT count(*) FROM log_records")
    return server.query(f"SELECT {columns} FROM log_records ORDER BY time NULLS FIRST, observed_time_unix_nano")


def test_sdk_grpc_log_exporter_records_land_with_their_span(server: ServerHandle) -> None:
    tracer_provider = TracerProvider()
    provider = LoggerProvider(resource=Resource.create({"service.name": "grpc-logger"}))
    provider.add_log_record_processor(
        SimpleLogRecordProcessor(GrpcLogExporter(endpoint=server.grpc_endpoint, insecure=True))
    )
    logger = provider.get_logger("agent.logs", "2.0")
    with tracer_provider.get_tracer("agent").start_as_current_span("chat gpt-4o") as span:
        logger.emit(
            LogRecord(
                body={"content": "hi", "parts": [1, 2.5, True]},
                severity_number=SeverityNumber.INFO,
                severity_text="INFO",
                attributes={"gen_ai.system": "openai", "tags": ["a", "b"]},
                event_name="gen_ai.user.message",
            )
        )
        context = span.get_span_context()
    logger.emit(LogRecord(body="outside any span", severity_number=SeverityNumber.WARN, severity_text="WARN"))
    provider.shutdown()

    rows = stored(
        server,
        "trace_id, span_id, service_name, scope_name, scope_version, severity_number, severity_text, event_name, "
        "body, attributes->'$.tags', json_type(attributes, '$.\"gen_ai.system\"'), time IS NOT NULL, commit_seq > 0",
    )
    assert rows == [
        (f"{context.trace_id:032x}", f"{context.span_id:016x}", "grpc-logger", "agent.logs", "2.0", 9, "INFO",
         "gen_ai.user.message", '{"content":"hi","parts":[1,2.5,true]}', '["a","b"]', "VARCHAR", True, True),
        (None, None, "grpc-logger", "agent.logs", "2.0", 13, "WARN", None, '"outside any span"', None, None,
         True, True),
    ]  # fmt: skip


def test_sdk_http_log_exporter_with_gzip(server: ServerHandle) -> None:
    provider = LoggerProvider(resource=Resource.create({"service.name": "http-logger"}))
    exporter = HttpLogExporter(endpoint=logs_url(server), compression=Compression.Gzip)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = provider.get_logger("agent.logs")
    for i in range(3):
        logger.emit(LogRecord(body=f"line {i}", severity_number=SeverityNumber.INFO, attributes={"i": i}))
    provider.shutdown()
    assert stored(server, "body, attributes, service_name") == [
        (f'"line {i}"', f'{{"i":{i}}}', "http-logger") for i in range(3)
    ]


def otlp_json_logs(trace_id: str = "5b8efff798038103d269b633813fc60c") -> dict[str, Any]:
    """An OTLP/JSON logs body as the specification's example writes one."""
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-logger"}}]},
                "scopeLogs": [
                    {
                        "scope": {"name": "my.library", "version": "1.0.0"},
                        "logRecords": [
                            {
                                "timeUnixNano": "1544712660300000000",
                                "observedTimeUnixNano": "1544712660300000000",
                                "severityNumber": 10,
                                "severityText": "Information",
                                "traceId": trace_id,
                                "spanId": "eee19b7ec3c1b174",
                                "body": {"kvlistValue": {"values": [
                                    {"key": "role", "value": {"stringValue": "user"}},
                                    {"key": "n", "value": {"intValue": "9007199254740993"}},
                                ]}},
                                "attributes": [
                                    {"key": "event.name", "value": {"stringValue": "legacy.event"}},
                                    {"key": "list", "value": {"arrayValue": {"values": [
                                        {"stringValue": "a"},
                                        {"kvlistValue": {"values": [{"key": "k", "value": {"doubleValue": 0.5}}]}},
                                    ]}}},
                                    {"key": "blob", "value": {"bytesValue": "AAEC"}},
                                ],
                                "unknownFutureField": {"ignored": True},
                            },
                            {
                                "observedTimeUnixNano": "1544712661000000000",
                                "eventName": "named.event",
                                "attributes": [{"key": "event.name", "value": {"stringValue": "ignored"}}],
                            },
                        ],
                    }
                ],
            }
        ]
    }  # fmt: skip


def test_otlp_json_logs_are_stored_and_answered_in_json(server: ServerHandle) -> None:
    response = httpx.post(logs_url(server), content=orjson.dumps(otlp_json_logs()), headers=JSON)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    rows = stored(
        server,
        "trace_id, span_id, event_name, body, attributes->'$.list', attributes->>'$.blob.bytesValue', time, "
        "time_unix_nano, severity_text, service_name",
    )
    assert [row[:6] for row in rows] == [
        ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "legacy.event",
         '{"role":"user","n":9007199254740993}', '["a",{"k":0.5}]', "AAEC"),
        (None, None, "named.event", None, None, None),
    ]  # fmt: skip
    # The second record has no time of its own: its observed time stands for it.
    assert str(rows[1][6]) == "2018-12-13 14:51:01"
    assert rows[1][7] == 0


def test_a_retried_request_stores_each_record_once(server: ServerHandle) -> None:
    trace_id, span_id = new_trace_id(), new_span_id()
    records = [make_record(trace_id=trace_id, span_id=span_id, time_ns=T0 + i, body=f"r{i}") for i in range(4)]
    records.append(make_record(time_ns=0, body="no time at all"))
    body = make_logs_request(records).SerializeToString()
    for _ in range(3):
        export_logs_raw(server.grpc_endpoint, body)
        assert httpx.post(logs_url(server), content=body, headers=PROTOBUF).status_code == 200
    # The same records spelled in OTLP/JSON are the same records.
    as_json = {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "log-agent"}}]},
                "scopeLogs": [
                    {
                        "scope": {"name": "tests.logs", "version": "1.0"},
                        "logRecords": [
                            {"timeUnixNano": str(T0), "observedTimeUnixNano": str(T0 + 1), "traceId": trace_id.hex(),
                             "spanId": span_id.hex(), "severityNumber": 9, "severityText": "INFO",
                             "body": {"stringValue": "r0"}},
                        ],
                    }
                ],
            }
        ]
    }  # fmt: skip
    assert httpx.post(logs_url(server), content=orjson.dumps(as_json), headers=JSON).status_code == 200
    assert stored(server) == [(5,)]
    # Two requests queued together (a retry behind its original) store once too.
    twice = make_logs_request([make_record(body="twin", time_ns=T0 + 100)] * 2).SerializeToString()
    export_logs_raw(server.grpc_endpoint, twice)
    assert stored(server) == [(6,)]


def test_bad_records_are_partial_success_and_the_rest_is_stored(server: ServerHandle) -> None:
    records = [
        make_record(body="good"),
        make_record(trace_id=b"\x01" * 5, body="short trace id"),
        make_record(span_id=b"\x02" * 3, trace_id=new_trace_id(), body="short span id"),
        make_record(time_ns=MAX_TIME_NS + 1, body="too late"),
    ]
    body = make_logs_request(records).SerializeToString()

    response = ExportLogsServiceResponse.FromString(export_logs_raw(server.grpc_endpoint, body))
    assert response.partial_success.rejected_log_records == 3
    message = response.partial_success.error_message
    assert message.startswith("3 log record(s) rejected: ")
    assert "trace_id must be empty or 16 bytes, got 5" in message
    assert "span_id must be empty or 8 bytes, got 3" in message
    assert "time_unix_nano" in message

    http = httpx.post(logs_url(server), content=body, headers=PROTOBUF)
    assert http.status_code == 200
    assert ExportLogsServiceResponse.FromString(http.content).partial_success.rejected_log_records == 3
    as_json = otlp_json_logs(trace_id="abcd")
    answered = httpx.post(logs_url(server), content=orjson.dumps(as_json), headers=JSON).json()
    assert answered["partialSuccess"]["rejectedLogRecords"] == "1"
    assert stored(server, "body") == [(None,), ('"good"',)]


def test_malformed_bodies_are_refused_and_store_nothing(server: ServerHandle) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        export_logs_raw(server.grpc_endpoint, b"\xff\xff\xff")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "ExportLogsServiceRequest" in (caught.value.details() or "")

    bad_protobuf = httpx.post(logs_url(server), content=b"\xff\xff\xff", headers=PROTOBUF)
    assert bad_protobuf.status_code == 400
    assert "ExportLogsServiceRequest" in status_pb2.Status.FromString(bad_protobuf.content).message
    bad_json = httpx.post(logs_url(server), content=b'{"resourceLogs": 5}', headers=JSON)
    assert bad_json.status_code == 400
    assert "ExportLogsServiceRequest" in bad_json.json()["message"]
    bad_gzip = httpx.post(logs_url(server), content=b"nope", headers={**PROTOBUF, "Content-Encoding": "gzip"})
    assert bad_gzip.status_code == 400
    assert httpx.post(logs_url(server), content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    assert stored(server) == [(0,)]

    # A gzip body is inflated as for traces.
    good = make_logs_request([make_record(body="after the bad ones")]).SerializeToString()
    zipped = httpx.post(logs_url(server), content=gzip.compress(good), headers={**PROTOBUF, "Content-Encoding": "gzip"})
    assert zipped.status_code == 200
    assert stored(server) == [(1,)]


def test_a_restarted_server_numbers_its_commits_past_its_log_records(db_path: Path) -> None:
    """A commit may hold log records alone: a restarted writer continues past it."""
    for text in ("before", "after"):
        server = start_server(db=str(db_path))
        try:
            export_logs_raw(server.grpc_endpoint, make_logs_request([make_record(body=text)]).SerializeToString())
        finally:
            server.stop()
    database = Database.open(db_path)
    rows = database.cursor().execute("SELECT body, commit_seq FROM log_records ORDER BY commit_seq").fetchall()
    database.close()
    assert rows == [('"before"', 1), ('"after"', 2)]


def test_log_requests_have_the_traces_limits_and_decode_in_worker_processes_too(db_path: Path) -> None:
    server = start_server(db=str(db_path), max_http_body_bytes=2000, max_grpc_message_bytes=2000, decode_workers=1)
    try:
        big = make_logs_request([make_record(body="x" * 5000)]).SerializeToString()
        too_large = httpx.post(logs_url(server), content=big, headers=PROTOBUF)
        assert too_large.status_code == 413
        with pytest.raises(grpc.RpcError) as caught:
            export_logs_raw(server.grpc_endpoint, big)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        small = make_logs_request([make_record(body="decoded by a worker")]).SerializeToString()
        export_logs_raw(server.grpc_endpoint, small)
        assert stored(server, "body") == [('"decoded by a worker"',)]
    finally:
        server.stop()


def test_a_full_intake_refuses_log_requests_retryably_as_trace_requests(db_path: Path) -> None:
    """With the writer stalled and intake's bytes taken by a first request, the next log request is
    UNAVAILABLE with RetryInfo over gRPC and 503 with Retry-After over HTTP, and stored once let in."""
    database = Database.open(db_path)
    writer = SpanWriter(database)
    writer.start()
    first = make_logs_request([make_record(body="first")]).SerializeToString()
    second = make_logs_request([make_record(body="second")]).SerializeToString()
    intake = Intake(writer, admission=Admission(max_bytes=len(first) + 10))
    stall = threading.Event()

    async def main() -> None:
        grpc_server = build_grpc_server(intake)
        port = grpc_server.add_insecure_port("127.0.0.1:0")
        await grpc_server.start()
        sock = listening_socket("127.0.0.1", 0)
        http = uvicorn.Server(uvicorn.Config(build_http_app(ExportEndpoint(intake)), log_level="warning"))
        http_task = asyncio.create_task(http.serve(sockets=[sock]))
        stalled = asyncio.ensure_future(writer.run_task(lambda cursor: stall.wait(30)))
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                export = channel.unary_unary(LOGS_EXPORT)
                waiting = asyncio.ensure_future(export(first, timeout=30))
                while intake.admission.in_flight == 0:
                    await asyncio.sleep(0.01)
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await export(second, timeout=10)
                assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
                details = dict(caught.value.trailing_metadata() or ())["grpc-status-details-bin"]
                assert status_pb2.Status.FromString(details).details[0].type_url.endswith("RetryInfo")
                async with httpx.AsyncClient() as client:
                    url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1/logs"
                    refused = await client.post(url, content=second, headers=PROTOBUF)
                    assert refused.status_code == 503
                    assert int(refused.headers["retry-after"]) >= 1
                    stall.set()
                    await stalled
                    await waiting
                    assert (await client.post(url, content=second, headers=PROTOBUF)).status_code == 200
        finally:
            stall.set()
            http.should_exit = True
            await http_task
            await grpc_server.stop(None)

    try:
        asyncio.run(main())
    finally:
        writer.close()
    rows = database.cursor().execute("SELECT body FROM log_records ORDER BY commit_seq").fetchall()
    database.close()
    assert rows == [('"first"',), ('"second"',)]
