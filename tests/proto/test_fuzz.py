"""Hostile OTLP input: whatever the bytes, the decoders raise InvalidRequest or decode; nothing crashes.

Property-based (hypothesis): random bytes, random JSON, and well-formed
requests with random ids, timestamps, attribute trees and counts, all the way
into DuckDB.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentlog.errors import InvalidRequest
from agentlog.proto import decode_request, parse_json, parse_protobuf
from agentlog.proto.rows import to_arrow
from agentlog.proto.spans import decode_spans
from agentlog.store import Database, insert_spans
from tests.factories import make_request, make_span
from tests.proto import strategies

FUZZ = settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

READ_VIEWS = ("spans", "nodes", "runs", "agents", "log_records")
text = st.text(max_size=40)
scalars = strategies.scalars(text)


def _kvlist(items: dict[str, Any]) -> AnyValue:
    out = AnyValue()
    for key, value in items.items():
        out.kvlist_value.values.add(key=key).value.CopyFrom(value or AnyValue())
    return out


any_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(strategies.array_value), st.dictionaries(text, inner, max_size=5).map(_kvlist)
    ),
    max_leaves=30,
)


@st.composite
def hostile_spans(draw: st.DrawFn) -> Span:
    span = Span(
        trace_id=draw(st.binary(max_size=20)),
        span_id=draw(st.binary(max_size=10)),
        parent_span_id=draw(st.binary(max_size=10)),
        name=draw(text),
        kind=draw(st.integers(0, 5)),
        start_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
        end_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
    )
    for key, value in draw(st.dictionaries(text, any_values, max_size=12)).items():
        span.attributes.add(key=key).value.CopyFrom(value or AnyValue())
    span.status.code = draw(st.integers(0, 2))
    for _ in range(draw(st.integers(0, 2))):
        event = span.events.add(name=draw(text), time_unix_nano=draw(st.integers(0, 2**64 - 1)))
        event.attributes.add(key="exception.message").value.string_value = draw(text)
    return span


def _store(pb_request: Any) -> int:
    """What the server does with the request's bytes: decode (as the oracle would), insert, read every view."""
    body = pb_request.SerializeToString()
    try:
        decoded = decode_request(body, "protobuf", "fuzz", 64)
    except InvalidRequest:  # a usage or cost no column can hold: refused whole, as the oracle's insert fails
        return 0
    oracle = decode_spans(pb_request, max_attribute_length=64)
    assert decoded.rejected == oracle.rejected
    assert decoded.table is None or decoded.table.equals(to_arrow(oracle, "fuzz"))
    database = Database.open(":memory:")
    cursor = database.cursor()
    cursor.execute("BEGIN")
    stored = insert_spans(cursor, [decoded.table], 1) if decoded.table is not None else 0
    cursor.execute("COMMIT")
    for view in READ_VIEWS:  # whatever was stored, every view reads back
        cursor.execute(f"SELECT * FROM {view}").fetchall()
    database.close()
    assert stored + decoded.rejected <= sum(len(ss.spans) for rs in pb_request.resource_spans for ss in rs.scope_spans)
    return stored


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes_are_a_request_or_invalid(body: bytes) -> None:
    try:
        pb_request = parse_protobuf(body)
    except InvalidRequest:
        return
    _store(pb_request)


@FUZZ
@given(st.lists(hostile_spans(), min_size=1, max_size=6))
def test_any_well_formed_request_decodes_and_stores(spans: list[Span]) -> None:
    request = make_request(spans)
    body = request.SerializeToString()
    stored = _store(parse_protobuf(body))
    valid = sum(1 for s in spans if len(s.trace_id) == 16 and any(s.trace_id) and len(s.span_id) == 8 and any(s.span_id)
                and len(s.parent_span_id) in (0, 8))  # fmt: skip
    assert stored <= valid


@FUZZ
@given(st.lists(hostile_spans(), min_size=1, max_size=3), st.data())
def test_flipped_bytes_never_crash(spans: list[Span], data: st.DataObject) -> None:
    body = bytearray(make_request(spans).SerializeToString())
    for _ in range(data.draw(st.integers(1, 8))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    try:
        pb_request = parse_protobuf(bytes(body))
    except InvalidRequest:
        return
    _store(pb_request)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=25,
)


@FUZZ
@given(json_values)
def test_random_json_is_a_request_or_invalid(value: Any) -> None:
    for document in (value, {"resourceSpans": value}, {"resourceSpans": [{"scopeSpans": [{"spans": [value]}]}]}):
        try:
            pb_request = parse_json(json.dumps(document).encode())
        except InvalidRequest:
            continue
        _store(pb_request)


def test_deeply_nested_values_are_refused_cleanly() -> None:
    value = strategies.protobuf_field(1, b"leaf")  # AnyValue.string_value
    for _ in range(300):  # AnyValue.kvlist_value -> KeyValueList.values -> KeyValue{key, value}
        value = strategies.protobuf_field(
            6, strategies.protobuf_field(1, strategies.protobuf_field(1, b"k") + strategies.protobuf_field(2, value))
        )
    span = make_span().SerializeToString() + strategies.protobuf_field(
        9, strategies.protobuf_field(1, b"deep") + strategies.protobuf_field(2, value)
    )
    body = strategies.protobuf_field(
        1, strategies.protobuf_field(2, strategies.protobuf_field(2, span))
    )  # request.resource_spans.scope_spans.spans
    with pytest.raises(InvalidRequest):
        parse_protobuf(body)
    json_body = b'{"resourceSpans": [' + b'{"k": ' * 5000 + b"1" + b"}" * 5000 + b"]}"
    with pytest.raises(InvalidRequest):
        parse_json(json_body)


def test_huge_attribute_counts_decode() -> None:
    span = make_span(attributes={f"k{i}": i for i in range(20_000)})
    request = ExportTraceServiceRequest()
    request.CopyFrom(make_request([span]))
    assert _store(parse_protobuf(request.SerializeToString())) == 1
