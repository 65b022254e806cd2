"""decode_request: the write path's one entry point, bytes -> SPAN_ROWS, for both encodings."""

from __future__ import annotations

import base64

import orjson
from google.protobuf import json_format

from agentlog.errors import InvalidRequest
from agentlog.proto import (
    DEFAULT_MAX_ATTRIBUTE_LENGTH,
    SPAN_ROWS,
    Decoded,
    decode_request,
    decode_requests,
    parse_protobuf,
)
from agentlog.proto.rows import to_arrow
from agentlog.proto.spans import decode_spans
from tests.factories import agent_spans, make_request, make_span


def test_rows_equal_the_span_by_span_decoder() -> None:
    body = make_request(agent_spans(40)).SerializeToString()
    decoded = decode_request(body, "protobuf", "acme", DEFAULT_MAX_ATTRIBUTE_LENGTH)
    assert decoded.table is not None
    assert decoded.table.schema == SPAN_ROWS
    assert decoded.table.equals(to_arrow(decode_spans(parse_protobuf(body)), "acme"))
    assert (decoded.rejected, decoded.message) == (0, "")


def test_json_takes_the_protobuf_path() -> None:
    request = make_request(agent_spans(5))
    as_json = json_format.MessageToDict(request)
    for resource_spans in as_json["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:  # OTLP/JSON spells ids in hex
                        span[key] = base64.b64decode(span[key]).hex()
    from_json = decode_request(orjson.dumps(as_json), "json", "acme", DEFAULT_MAX_ATTRIBUTE_LENGTH)
    from_protobuf = decode_request(request.SerializeToString(), "protobuf", "acme", DEFAULT_MAX_ATTRIBUTE_LENGTH)
    assert from_json.table is not None and from_json.table.equals(from_protobuf.table)


def test_a_request_of_rejected_spans_has_no_table_and_says_why() -> None:
    body = make_request([make_span(trace_id=b"\x00" * 16), make_span(span_id=b"\x01")]).SerializeToString()
    decoded = decode_request(body, "protobuf", "acme", DEFAULT_MAX_ATTRIBUTE_LENGTH)
    assert decoded.table is None
    assert decoded.rejected == 2
    assert decoded.message.startswith("2 span(s) rejected: ")


def test_a_token_count_no_column_can_hold_is_no_count_and_the_span_is_stored() -> None:
    span = make_span(attributes={"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": "9" * 20})
    decoded = decode_request(make_request([span]).SerializeToString(), "protobuf", "acme", 100)
    assert decoded.table is not None
    assert decoded.table.column("input_tokens").to_pylist() == [None]


def test_a_reported_cost_no_column_can_hold_is_no_cost_and_the_span_is_stored() -> None:
    span = make_span(attributes={"gen_ai.usage.cost": "9" * 17})
    decoded = decode_request(make_request([span]).SerializeToString(), "protobuf", "acme", 100)
    assert decoded.table is not None
    assert decoded.table.column("cost_usd").to_pylist() == [None]


def test_several_requests_decode_in_one_pass_as_each_would_alone() -> None:
    bodies = [make_request(agent_spans(n)).SerializeToString() for n in (3, 1, 7)]
    rejected = make_request([make_span(trace_id=b"\x00" * 16), *agent_spans(2)]).SerializeToString()
    empty = make_request([]).SerializeToString()
    requests = [(bodies[0], "protobuf", "a"), (rejected, "protobuf", "b"), (empty, "protobuf", "c"),
                (bodies[1], "protobuf", "a"), (bodies[2], "protobuf", "d")]  # fmt: skip
    together = decode_requests(requests, DEFAULT_MAX_ATTRIBUTE_LENGTH)  # type: ignore[arg-type]
    for (body, encoding, tenant), decoded in zip(requests, together, strict=True):
        alone = decode_request(body, encoding, tenant, DEFAULT_MAX_ATTRIBUTE_LENGTH)  # type: ignore[arg-type]
        assert isinstance(decoded, Decoded)
        assert (decoded.rejected, decoded.message) == (alone.rejected, alone.message)
        assert (decoded.table is None) == (alone.table is None)
        assert decoded.table is None or alone.table is None or decoded.table.equals(alone.table)
    assert [d.rejected for d in together if isinstance(d, Decoded)] == [0, 1, 0, 0, 0]


def test_a_body_that_is_not_a_request_fails_alone() -> None:
    good = make_request(agent_spans(2)).SerializeToString()
    together = decode_requests(
        [(good, "protobuf", "a"), (b"\xff\xff not protobuf", "protobuf", "a"), (good, "protobuf", "b")],
        DEFAULT_MAX_ATTRIBUTE_LENGTH,
    )
    assert isinstance(together[1], InvalidRequest)
    assert isinstance(together[0], Decoded) and together[0].table is not None
    assert isinstance(together[2], Decoded) and together[2].table is not None
    assert together[2].table.column("tenant_id").to_pylist() == ["b", "b"]


def test_a_span_whose_kind_or_status_no_column_holds_is_rejected_alone() -> None:
    spans = [make_span(kind=300), make_span(kind=-1), make_span(status_code=256), *agent_spans(2)]
    body = make_request(spans).SerializeToString()
    decoded = decode_request(body, "protobuf", "acme", DEFAULT_MAX_ATTRIBUTE_LENGTH)
    assert decoded.table is not None and decoded.table.num_rows == 2
    assert decoded.rejected == 3
    assert "kind 300 is not a span kind (0-255)" in decoded.message
    assert "status code 256 is not a status code (0-255)" in decoded.message
    assert decoded.table.equals(to_arrow(decode_spans(parse_protobuf(body)), "acme"))  # the oracle agrees
