"""Decoding in worker processes: the same answers as in-process, errors included."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import httpx
import orjson
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from agentlog.collector import decoding
from agentlog.collector.decoding import Decoder
from agentlog.errors import InvalidRequest
from agentlog.proto import columnar
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


def test_the_decode_thread_decodes_waiting_requests_together_and_each_gets_its_own_answer() -> None:
    decoder = Decoder(workers=0)
    good = [make_request(agent_spans(n)).SerializeToString() for n in range(1, 9)]
    bad = b"\xff\xff not protobuf"
    passes: list[int] = []
    real = decoding.decode_requests

    def counting(requests: Any, max_attribute_length: int, conventions: Any) -> Any:
        passes.append(len(requests))
        return real(requests, max_attribute_length, conventions)

    async def main() -> list[Any]:
        bodies = [*good[:4], bad, *good[4:]]
        return await asyncio.gather(
            *(decoder.decode(body, "protobuf", f"t{i}") for i, body in enumerate(bodies)), return_exceptions=True
        )

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decoding, "decode_requests", counting)
        results = asyncio.run(main())
    decoder.close()
    assert isinstance(results[4], InvalidRequest)
    decoded = [result for result in results if not isinstance(result, Exception)]
    assert [d.table.num_rows for d in decoded] == list(range(1, 9))
    assert [d.table.column("tenant_id")[0].as_py() for d in decoded] == ["t0", "t1", "t2", "t3", "t5", "t6", "t7", "t8"]
    assert sum(passes) == 9
    assert len(passes) < 9  # the requests that waited while the thread was busy shared a pass


class _Panic(BaseException):
    """What a native library's panic looks like from Python (pyo3's PanicException is a BaseException)."""


def test_a_panic_on_one_body_answers_it_alone_and_the_thread_goes_on() -> None:
    decoder = Decoder(workers=0)
    poison = make_request(agent_spans(1)).SerializeToString()
    real_handler = columnar._handler()

    class Panicking:
        def list_to_record_batch(self, bodies: list[bytes]) -> Any:
            if poison in bodies:
                raise _Panic("native code panicked")
            return real_handler.list_to_record_batch(bodies)

    async def main() -> list[Any]:
        bodies = [make_request(agent_spans(n)).SerializeToString() for n in (2, 3)]
        first = await asyncio.gather(
            *(decoder.decode(b, "protobuf", "t") for b in (bodies[0], poison, bodies[1])), return_exceptions=True
        )
        after = await decoder.decode(bodies[0], "protobuf", "t")  # the thread is still there
        return [*first, after]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(columnar, "_handler", Panicking)
        results = asyncio.run(main())
    decoder.close()
    assert isinstance(results[1], InvalidRequest)  # a 400 for its sender, not a crash
    assert [r.table.num_rows for r in (results[0], results[2], results[3])] == [2, 3, 2]


def test_a_defect_in_a_shared_pass_fails_no_request_that_decodes_alone() -> None:
    decoder = Decoder(workers=0)

    def broken(requests: Any, max_attribute_length: int, conventions: Any) -> Any:
        raise RuntimeError("a defect in the shared pass")

    async def main() -> list[Any]:
        bodies = [make_request(agent_spans(n)).SerializeToString() for n in (2, 3)]
        return await asyncio.gather(*(decoder.decode(b, "protobuf", "t") for b in bodies))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decoding, "decode_requests", broken)
        results = asyncio.run(main())
    decoder.close()
    assert [r.table.num_rows for r in results] == [2, 3]
