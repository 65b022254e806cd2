"""Decoding in worker processes: the same answers as in-process, errors included."""

from __future__ import annotations

import grpc
import httpx
import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.collector.test_grpc_receiver import export_raw
from tests.collector.test_http_receiver import otlp_json
from tests.conftest import start_server
from tests.factories import agent_spans, make_request, make_span


def test_worker_processes_decode_both_encodings_and_report_errors(db_path: object) -> None:
    server = start_server(db=str(db_path), decode_workers=1)
    try:
        export_raw(server.grpc_endpoint, make_request(agent_spans(4)).SerializeToString())
        json_response = httpx.post(
            server.http_url, content=orjson.dumps(otlp_json()), headers={"Content-Type": "application/json"}
        )
        assert json_response.status_code == 200
        partial = export_raw(server.grpc_endpoint, make_request([make_span(trace_id=b"\x01")]).SerializeToString())
        assert ExportTraceServiceResponse.FromString(partial).partial_success.rejected_spans == 1
        with pytest.raises(grpc.RpcError) as caught:
            export_raw(server.grpc_endpoint, b"\x0a\xff\xff\xff\xff\x0f junk")
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "not a valid OTLP" in caught.value.details()
        assert server.span_count() == 6
        typed = server.query(
            "SELECT json_type(attributes, '$.ratio') FROM stored_spans WHERE attributes->>'$.ratio' IS NOT NULL"
        )
        assert typed == [("DOUBLE",)]
    finally:
        server.stop()
