from __future__ import annotations

import base64
import time

import orjson
import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from agentlog.errors import InvalidRequest
from agentlog.proto import parse_json, parse_protobuf, response_json, response_protobuf
from agentlog.proto.spans import decode_spans
from tests.factories import agent_spans, make_request


def _json_body(span: dict[str, object]) -> bytes:
    """One span as an OTLP/JSON request; started now unless it says when (OTLP requires a start time)."""
    span = {"startTimeUnixNano": str(time.time_ns()), **span}
    return orjson.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})


def test_protobuf_and_json_give_the_same_rows() -> None:
    request = make_request(agent_spans(3))
    as_json = json_format.MessageToDict(request)  # proto3 JSON: base64 ids, camelCase keys
    for resource_spans in as_json["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:  # OTLP/JSON wants hex ids
                        span[key] = base64.b64decode(span[key]).hex()
    from_protobuf = decode_spans(parse_protobuf(request.SerializeToString()))
    from_json = decode_spans(parse_json(orjson.dumps(as_json)))
    assert from_json == from_protobuf


def test_json_accepts_int64_as_strings_or_numbers_and_enums_as_numbers() -> None:
    span = {"traceId": "01" * 16, "spanId": "02" * 8, "name": "n", "kind": 3,
            "startTimeUnixNano": "9223372036854775806", "endTimeUnixNano": 9223372036854775806,
            "status": {"code": 2}}  # fmt: skip
    batch = decode_spans(parse_json(_json_body(span)))
    assert (batch.kind, batch.start_time_unix_nano, batch.end_time_unix_nano, batch.status_code) == (
        [3],
        [2**63 - 2],
        [2**63 - 2],
        [2],
    )
    span["startTimeUnixNano"] = "18446744073709551615"  # a uint64 still parses; it is past what agentlog stores
    batch = decode_spans(parse_json(_json_body(span)))
    assert (len(batch), batch.rejected) == (0, 1)


def test_json_base64_ids_from_older_senders_are_understood() -> None:
    span = {
        "traceId": base64.b64encode(b"\x07" * 16).decode(),
        "spanId": base64.b64encode(b"\x08" * 8).decode(),
        "name": "n",
    }
    batch = decode_spans(parse_json(_json_body(span)))
    assert batch.trace_id == [int.from_bytes(b"\x07" * 16, "big")]


def test_unknown_json_fields_are_ignored() -> None:
    span = {"traceId": "01" * 16, "spanId": "02" * 8, "name": "n", "newField": [1, 2]}
    assert decode_spans(parse_json(_json_body(span))).name == ["n"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b'"a string"', "JSON object"),
        (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon"}]}]}]}', "not a valid OTLP/JSON"),
    ],
)
def test_malformed_json_says_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_json(body)


def test_malformed_protobuf_says_what_is_wrong() -> None:
    with pytest.raises(InvalidRequest, match="not a valid OTLP ExportTraceServiceRequest"):
        parse_protobuf(b"\x0a\x10short")


def test_invalid_utf8_in_a_protobuf_string_is_malformed() -> None:
    body = bytearray(make_request(agent_spans(1)).SerializeToString())
    index = body.index(b"invoke_agent")
    body[index] = 0xFF
    with pytest.raises(InvalidRequest):
        parse_protobuf(bytes(body))


def test_responses_in_both_encodings() -> None:
    assert response_json(0, "") == b"{}"
    assert orjson.loads(response_json(2, "why")) == {"partialSuccess": {"rejectedSpans": "2", "errorMessage": "why"}}
    assert not ExportTraceServiceResponse.FromString(response_protobuf(0, "")).HasField("partial_success")
    parsed = ExportTraceServiceResponse.FromString(response_protobuf(3, "why"))
    assert (parsed.partial_success.rejected_spans, parsed.partial_success.error_message) == (3, "why")
