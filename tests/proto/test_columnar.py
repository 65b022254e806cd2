"""flatten_request against its oracle, parse_protobuf + decode_spans + to_arrow: every column, every case.

The factories' requests (agent spans, errors, markers, links, events, nested
values, bad ids, bad times, long strings), then hypothesis: random well-formed
requests, and random or flipped bytes (whatever protobuf accepts, flatten_request
accepts and decodes the same).
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from agentlog.errors import InvalidRequest
from agentlog.proto import SPAN_ROWS, parse_protobuf
from agentlog.proto.columnar import (
    ATTRIBUTE_SCHEMA,
    EXCEPTION_SCHEMA,
    SPAN_SCHEMA,
    TYPE_ARRAY,
    TYPE_BOOL,
    TYPE_BYTES,
    TYPE_DOUBLE,
    TYPE_EMPTY,
    TYPE_INT,
    TYPE_KVLIST,
    TYPE_STRING,
    FlatSpans,
    _escaped,
    _handler,
    flatten_request,
)
from agentlog.proto.rows import to_arrow
from agentlog.proto.spans import _exception, decode_spans
from agentlog.proto.times import MAX_TIME_NS, SENT_END_TIME
from tests.factories import agent_spans, key_values, make_request, make_span, new_span_id, new_trace_id
from tests.proto import strategies

# COLUMNAR_EXAMPLES=400 for a longer search (about 40 s)
CHECKS = settings(
    max_examples=int(os.environ.get("COLUMNAR_EXAMPLES", "60")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def assert_same_as_oracle(body: bytes, max_length: int = 128 * 1024) -> FlatSpans:
    """flatten_request(body) equals the oracle: spans column by column, attributes, exceptions, rejections."""
    flat = flatten_request(body, max_length)
    pb_request = parse_protobuf(body)
    batch = decode_spans(pb_request, max_length)
    expected = to_arrow(batch, "t").select(SPAN_SCHEMA.names)
    assert flat.spans.schema == SPAN_SCHEMA
    for name in SPAN_SCHEMA.names:
        assert flat.spans.column(name).to_pylist() == expected.column(name).to_pylist(), name
    assert (flat.rejected, flat.reasons) == (batch.rejected, batch.reasons)
    assert flat.attributes.schema == ATTRIBUTE_SCHEMA
    assert _attribute_dicts(flat) == [orjson.loads(text) for text in batch.attributes]
    assert flat.exceptions.schema == EXCEPTION_SCHEMA
    assert flat.exceptions.to_pylist() == _expected_exceptions(pb_request, max_length)
    return flat


def _attribute_dicts(flat: FlatSpans) -> list[dict[str, Any]]:
    """The attributes table back as one dict per span, in row order (so in the JSON's key order)."""
    dicts: list[dict[str, Any]] = [{} for _ in range(flat.spans.num_rows)]
    for row in flat.attributes.to_pylist():
        assert row["key"] not in dicts[row["span"]], "one row per key"
        dicts[row["span"]][row["key"]] = _row_value(row)
    return dicts


def _row_value(row: dict[str, Any]) -> Any:
    kind = row["type"]
    if kind in (TYPE_ARRAY, TYPE_KVLIST, TYPE_BYTES):
        return orjson.loads(row["json"])
    return {
        TYPE_STRING: row["str"],
        TYPE_BOOL: row["bool"],
        TYPE_INT: row["int"],
        TYPE_DOUBLE: row["double"],
        TYPE_EMPTY: None,
    }[kind]


def _expected_exceptions(pb_request: Any, max_length: int) -> list[dict[str, Any]]:
    """Per kept span (decode_spans alone says which are kept), the exception row the interface promises."""
    rows = []
    kept = 0
    for resource_spans in pb_request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for pb_span in scope_spans.spans:
                alone = ExportTraceServiceRequest()
                alone.resource_spans.add().scope_spans.add().spans.append(pb_span)
                if decode_spans(alone, max_length).rejected:
                    continue
                found = _exception(pb_span.events, max_length) if pb_span.status.code == 2 else None
                if found is not None:
                    kind, message = found.get("exception.type"), found.get("exception.message")
                    rows.append(
                        {
                            "span": kept,
                            "type": kind if isinstance(kind, str) else None,
                            "message": message if isinstance(message, str) else None,
                        }
                    )
                kept += 1
    return rows


def _body(spans: list[Span], **kwargs: Any) -> bytes:
    return bytes(make_request(spans, **kwargs).SerializeToString())


# --- the interface ------------------------------------------------------------------------------------------------


def test_span_schema_is_the_stored_schema_from_trace_id_to_is_pending() -> None:
    names = SPAN_ROWS.names
    stored = SPAN_ROWS.names[names.index("trace_id") : names.index("is_pending") + 1]
    assert pa.schema([SPAN_ROWS.field(name) for name in stored]) == SPAN_SCHEMA


def test_not_protobuf_is_invalid() -> None:
    with pytest.raises(InvalidRequest):
        flatten_request(b"\x0a\x05\xff\xff")


def test_empty_request_has_no_spans() -> None:
    flat = assert_same_as_oracle(b"")
    assert flat.spans.num_rows == 0
    assert flat.attributes.num_rows == 0


# Every field of an OTLP Span, and what stores it; a new field in opentelemetry-proto (or a ptars release
# that drops one) fails here until it is decided.
SPAN_FIELDS = {
    "trace_id": ("trace_id",),
    "span_id": ("span_id",),
    "trace_state": ("trace_state",),
    "parent_span_id": ("parent_span_id",),
    "flags": ("flags",),
    "name": ("name",),
    "kind": ("kind",),
    "start_time_unix_nano": ("start_time_unix_nano",),
    "end_time_unix_nano": ("end_time_unix_nano",),
    "attributes": ("attributes",),
    "dropped_attributes_count": ("dropped_attributes_count",),
    "events": ("events",),
    "dropped_events_count": ("dropped_events_count",),
    "links": ("links",),
    "dropped_links_count": ("dropped_links_count",),
    "status": ("status_code", "status_message"),
}


def test_every_span_field_is_decoded() -> None:
    assert {field.name for field in Span.DESCRIPTOR.fields} == set(SPAN_FIELDS)
    span_type = _handler().schema().field("resource_spans").type.value_type
    span_type = span_type.field("scope_spans").type.value_type.field("spans").type.value_type
    assert {span_type.field(i).name for i in range(span_type.num_fields)} == set(SPAN_FIELDS)
    full = _full_span()
    for name, columns in SPAN_FIELDS.items():  # each field set alone to something else changes its columns
        changed = Span()
        changed.CopyFrom(full)
        _change(changed, name)
        before = assert_same_as_oracle(_body([full])).spans.to_pylist()[0]
        after = assert_same_as_oracle(_body([changed])).spans.to_pylist()[0]
        for column in columns:
            assert before[column] != after[column], (name, column)


def _full_span() -> Span:
    span = make_span(parent_span_id=new_span_id(), attributes={"a": 1}, status_code=2, status_message="bad")
    span.trace_state, span.flags, span.kind = "k=v", 257, 3
    span.dropped_attributes_count, span.dropped_events_count, span.dropped_links_count = 1, 2, 3
    span.events.add(name="exception", time_unix_nano=5).attributes.extend(key_values({"exception.type": "E"}))
    span.links.add(trace_id=new_trace_id(), span_id=new_span_id(), trace_state="l", flags=1)
    return span


def _change(span: Span, name: str) -> None:
    if name in ("trace_id", "span_id", "parent_span_id"):
        setattr(span, name, new_trace_id() if name == "trace_id" else new_span_id())
    elif name in ("trace_state", "name"):
        setattr(span, name, getattr(span, name) + "x")
    elif name in ("start_time_unix_nano", "end_time_unix_nano"):
        setattr(span, name, getattr(span, name) - 10 if name == "start_time_unix_nano" else span.end_time_unix_nano + 1)
    elif name in ("attributes", "events", "links"):
        getattr(span, name).add()
    elif name == "status":
        span.status.CopyFrom(Status(code=1, message="other"))
    else:
        setattr(span, name, getattr(span, name) + 1)


# --- the factories' requests --------------------------------------------------------------------------------------


def test_agent_spans() -> None:
    flat = assert_same_as_oracle(_body(agent_spans(20)))
    assert flat.spans.num_rows == 20


def test_errors_with_exception_events() -> None:
    spans = [make_span(status_code=2, status_message="boom") for _ in range(4)]
    spans[0].events.add(name="exception").attributes.extend(
        key_values({"exception.type": "ValueError", "exception.message": "bad", "exception.stacktrace": "..."})
    )
    spans[1].events.add(name="log")
    spans[1].events.add(name="exception").attributes.extend(key_values({"exception.type": 3}))
    spans[1].events.add(name="exception").attributes.extend(key_values({"exception.type": "second"}))
    spans[2].events.add(name="exception")
    ok = make_span()
    ok.events.add(name="exception").attributes.extend(key_values({"exception.type": "not an error span"}))
    flat = assert_same_as_oracle(_body([*spans, ok]))
    assert flat.exceptions.num_rows == 3


def test_live_status_markers() -> None:
    parent = new_span_id()
    spans = [
        make_span(attributes={"agentlog.span_type": "pending"}),
        make_span(attributes={"agentlog.span_type": "other"}),
        make_span(parent_span_id=parent, attributes={"logfire.span_type": "pending_span"}),
        make_span(
            parent_span_id=parent,
            attributes={"logfire.span_type": "pending_span", "logfire.pending_parent_id": "00000000000000ab"},
        ),
        make_span(
            parent_span_id=parent,
            attributes={"logfire.span_type": "pending_span", "logfire.pending_parent_id": "0000000000000000"},
        ),
        make_span(
            parent_span_id=parent, attributes={"logfire.span_type": "pending_span", "logfire.pending_parent_id": 7}
        ),
        make_span(attributes={"logfire.span_type": "pending_span"}),  # no parent: rejected
        make_span(
            parent_span_id=parent, attributes={"logfire.span_type": "pending_span", "logfire.pending_parent_id": "zz"}
        ),
        make_span(attributes={"agentlog.span_type": "pending", "logfire.span_type": "pending_span"}),
    ]
    flat = assert_same_as_oracle(_body(spans))
    assert flat.rejected == 2
    assert flat.spans.column("is_pending").to_pylist() == [True, False, True, True, True, True, True]


def test_links_and_events() -> None:
    span = make_span()
    for i in range(3):
        event = span.events.add(name=f'e"{i}\n', time_unix_nano=i)
        event.attributes.extend(key_values({"n": i, "s": "x" * 50, "nested": [1, {"k": b"\x01"}]}))
        event.dropped_attributes_count = i
    span.links.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, trace_state="a=1", flags=7).attributes.extend(
        key_values({"link": True})
    )
    span.links.add(trace_id=b"", span_id=b"\xff\x00")  # ids of links are stored as sent, in hex
    assert_same_as_oracle(_body([span, make_span()]), max_length=10)


def test_nested_values() -> None:
    value: Any = {"leaf": 1.5, "s": "y" * 30, "b": b"\x00\xff", "empty": [], "none": {}}
    for depth in range(10):
        value = {"level": depth, "items": [value, [depth, "x", True, -(2**63)]]}
    span = make_span(attributes={"deep": value, "array": [1, 2.0, "three", None or "", False]})
    span.attributes.add(key="array_with_empty").value.array_value.values.add()
    span.attributes.add(key="kv_with_empty").value.kvlist_value.values.add(key="k")
    kv = span.attributes.add(key="kv_repeated").value.kvlist_value.values
    kv.add(key="k").value.string_value = "first"
    kv.add(key="j").value.int_value = 2
    kv.add(key="k").value.string_value = "last"
    assert_same_as_oracle(_body([span]), max_length=10)


def test_bad_ids_are_rejected_with_the_oracles_reasons() -> None:
    trace = new_trace_id()
    spans = [
        make_span(trace_id=trace[:15]),
        make_span(trace_id=trace + b"\x00"),
        make_span(span_id=b"\x01" * 7),
        make_span(parent_span_id=b"\x01" * 9),
        make_span(parent_span_id=b"\x00" * 8),  # a root
        make_span(trace_id=trace),
    ]
    spans[0].trace_id = b""
    zero = make_span()
    zero.trace_id = b"\x00" * 16
    zero_span = make_span()
    zero_span.span_id = b"\x00" * 8
    flat = assert_same_as_oracle(_body([*spans, zero, zero_span]))
    assert flat.rejected == 6
    assert flat.spans.column("parent_span_id").to_pylist() == [None, None]


def test_bad_times() -> None:
    spans = [
        make_span(start=0),
        make_span(start=MAX_TIME_NS + 1),
        make_span(start=MAX_TIME_NS, duration=1),
        make_span(start=MAX_TIME_NS, duration=0),
        make_span(duration=-5),  # end before start: stored as the start, the sent end kept
        make_span(attributes={SENT_END_TIME: "sent", "after": 1}, duration=-1),  # the added one replaces it
    ]
    spans[-1].end_time_unix_nano = 0
    flat = assert_same_as_oracle(_body(spans))
    assert flat.rejected == 3


def test_long_strings_are_truncated_everywhere() -> None:
    long = "é" * 40 + '\n"\\' + "\x01" * 5
    span = make_span(attributes={"long": long, "short": "ok", "nested": [long, {"k": long}]}, status_code=2)
    span.events.add(name="exception").attributes.extend(key_values({"exception.type": long, "exception.message": long}))
    request = make_request([span], service_name=long)
    for max_length in (0, 1, 10, 44, 47, 1000):
        assert_same_as_oracle(request.SerializeToString(), max_length)


def test_repeated_keys_keep_the_first_place_and_the_last_value() -> None:
    span = make_span(attributes={"a": 1, "b": 2})
    span.attributes.add(key="a").value.string_value = "last"
    span.attributes.add(key="c").value.bool_value = True
    span.attributes.add(key="b")
    request = make_request([span, make_span(attributes={"a": 1})])
    request.resource_spans[0].resource.attributes.extend(key_values({"service.name": 5}))
    flat = assert_same_as_oracle(request.SerializeToString())
    assert flat.spans.column("service_name").to_pylist() == [None, None]


def test_odd_values() -> None:
    floats = [0.0, -0.0, 1.0, 0.1, 1e16, 1e-7, 1.7976931348623157e308, 5e-324, math.nan, math.inf, -math.inf]
    attributes = {f"f{i}": value for i, value in enumerate(floats)}
    attributes |= {"ctrl": "".join(chr(c) for c in range(0x20)) + "\x7f\u2028\U0001f600", "": "empty key"}
    attributes |= {'k"\\\n': "key escapes", "i": -(2**63), "big": 2**63 - 1, "bytes": b"", "t": True}
    span = make_span(attributes=attributes)
    span.attributes.add(key="empty")
    span.attributes.add(key="strindex").value.string_value_strindex = 3
    assert_same_as_oracle(_body([span]))


def test_several_resources_and_scopes() -> None:
    request = ExportTraceServiceRequest()
    for r in range(3):
        resource_spans = request.resource_spans.add()
        if r != 1:
            resource_spans.resource.attributes.extend(key_values({"service.name": f"svc{r}", "n": [r]}))
        for s in range(r + 1):
            scope_spans = resource_spans.scope_spans.add()
            if s:
                scope_spans.scope.name, scope_spans.scope.version = f"scope{s}", ""
            scope_spans.spans.extend(agent_spans(s + 1))
    request.resource_spans.add()  # no scopes
    request.resource_spans[0].scope_spans.add()  # no spans
    span = Span(trace_id=new_trace_id(), span_id=new_span_id(), start_time_unix_nano=1)  # no status at all
    request.resource_spans[2].scope_spans[0].spans.append(span)
    assert_same_as_oracle(request.SerializeToString())


# --- hypothesis ---------------------------------------------------------------------------------------------------

text = st.text(max_size=30)
scalars = strategies.scalars(text)


def _kvlist(items: list[tuple[str, Any]]) -> AnyValue:
    out = AnyValue()
    for key, value in items:
        out.kvlist_value.values.add(key=key).value.CopyFrom(value or AnyValue())
    return out


any_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(strategies.array_value),
        st.lists(st.tuples(st.sampled_from("abc"), inner), max_size=4).map(_kvlist),
    ),
    max_leaves=20,
)
keys = st.one_of(
    st.sampled_from(["a", "b", "agentlog.span_type", "logfire.span_type", "logfire.pending_parent_id"]), text
)
times = st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, MAX_TIME_NS, MAX_TIME_NS + 1, 2**64 - 1]))
marker_values = st.sampled_from(["pending", "pending_span", "00000000000000ab", "0" * 16, "xyz"]).map(
    lambda s: AnyValue(string_value=s)
)


def _ids(size: int) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(min_size=size, max_size=size), st.binary(max_size=size + 2), st.just(bytes(size)))


@st.composite
def spans(draw: st.DrawFn) -> Span:
    span = Span(
        trace_id=draw(_ids(16)),
        span_id=draw(_ids(8)),
        parent_span_id=draw(st.one_of(st.just(b""), _ids(8))),
        trace_state=draw(text),
        name=draw(text),
        kind=draw(st.integers(0, 5)),
        flags=draw(st.integers(0, 2**32 - 1)),
        start_time_unix_nano=draw(times),
        end_time_unix_nano=draw(times),
        dropped_attributes_count=draw(st.integers(0, 2**32 - 1)),
    )
    for key, value in draw(st.lists(st.tuples(keys, st.one_of(any_values, marker_values)), max_size=8)):
        span.attributes.add(key=key).value.CopyFrom(value or AnyValue())
    span.status.code = draw(st.integers(0, 2))
    span.status.message = draw(text)
    for _ in range(draw(st.integers(0, 2))):
        event = span.events.add(name=draw(st.sampled_from(["exception", "log", ""])), time_unix_nano=draw(times))
        for key, value in draw(
            st.lists(st.tuples(st.sampled_from(["exception.type", "exception.message", "x"]), any_values), max_size=3)
        ):
            event.attributes.add(key=key).value.CopyFrom(value or AnyValue())
    for _ in range(draw(st.integers(0, 2))):
        link = span.links.add(
            trace_id=draw(st.binary(max_size=17)), span_id=draw(st.binary(max_size=9)), flags=draw(st.integers(0, 9))
        )
        link.trace_state = draw(text)
        for key, value in draw(st.lists(st.tuples(text, any_values), max_size=2)):
            link.attributes.add(key=key).value.CopyFrom(value or AnyValue())
    return span


@st.composite
def requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 3))):
        resource_spans = request.resource_spans.add()
        for key, value in draw(st.lists(st.tuples(st.sampled_from(["service.name", "x"]), any_values), max_size=3)):
            resource_spans.resource.attributes.add(key=key).value.CopyFrom(value or AnyValue())
        for _ in range(draw(st.integers(0, 2))):
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name, scope_spans.scope.version = draw(text), draw(text)
            scope_spans.spans.extend(draw(st.lists(spans(), max_size=4)))
    return request


@CHECKS
@given(requests(), st.sampled_from([0, 5, 64, 128 * 1024]))
def test_random_requests_decode_as_the_oracle(request: ExportTraceServiceRequest, max_length: int) -> None:
    assert_same_as_oracle(request.SerializeToString(), max_length)


@CHECKS
@given(requests(), st.data())
def test_flipped_bytes_are_refused_only_when_protobuf_refuses_them(
    request: ExportTraceServiceRequest, data: st.DataObject
) -> None:
    body = bytearray(request.SerializeToString())
    for _ in range(data.draw(st.integers(1, 6)) if body else 0):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    _same_or_both_refuse(bytes(body))


@CHECKS
@given(st.binary(max_size=300))
def test_random_bytes_are_refused_only_when_protobuf_refuses_them(body: bytes) -> None:
    _same_or_both_refuse(body)


def _same_or_both_refuse(body: bytes) -> None:
    try:
        parse_protobuf(body)
    except InvalidRequest:
        with contextlib.suppress(InvalidRequest):  # protobuf refuses: so may we (ptars may read it: see report)
            flatten_request(body)
        return
    assert_same_as_oracle(body)


def _any(**value: Any) -> bytes:
    return bytes(AnyValue(**value).SerializeToString())


@pytest.mark.parametrize(
    "extra",
    [
        strategies.protobuf_field(
            9,
            strategies.protobuf_field(1, b"k")
            + strategies.protobuf_field(2, _any(string_value="x"))
            + strategies.protobuf_field(2, _any(int_value=5)),
        ),  # value twice
        strategies.protobuf_field(
            9,
            strategies.protobuf_field(1, b"k")
            + strategies.protobuf_field(2, _any(string_value="x") + _any(int_value=5)),
        ),  # oneof twice, merged
        strategies.protobuf_field(
            9,
            strategies.protobuf_field(1, b"k")
            + strategies.protobuf_field(
                2,
                strategies.protobuf_field(
                    5, strategies.protobuf_field(1, _any(bool_value=True) + _any(double_value=1.5))
                ),
            ),
        ),
        strategies.protobuf_field(15, bytes(Status(code=2).SerializeToString()))
        + strategies.protobuf_field(15, bytes(Status(message="m").SerializeToString())),
        bytes(Span(name="merged", kind=2).SerializeToString()),  # a span sent in two pieces: protobuf merges them
        bytes([0x98, 0x06, 0x01]),  # an unknown field (99)
    ],
)
def test_protobufs_merge_rules(extra: bytes) -> None:
    span = make_span(attributes={"a": 1}).SerializeToString() + extra
    assert_same_as_oracle(
        strategies.protobuf_field(1, strategies.protobuf_field(2, strategies.protobuf_field(2, span)))
    )


def test_deep_nesting_protobuf_accepts_is_accepted() -> None:
    value = _any(string_value="leaf")
    for _ in range(40):  # protobuf reads these 40 levels (its limit is ~47 here)
        value = strategies.protobuf_field(5, strategies.protobuf_field(1, value))  # AnyValue.array_value.values[0]
    span = make_span().SerializeToString() + strategies.protobuf_field(
        9, strategies.protobuf_field(1, b"deep") + strategies.protobuf_field(2, value)
    )
    assert_same_as_oracle(
        strategies.protobuf_field(1, strategies.protobuf_field(2, strategies.protobuf_field(2, span)))
    )


def test_nesting_past_protobufs_limit_is_refused() -> None:
    value = _any(string_value="leaf")
    for _ in range(300):
        value = strategies.protobuf_field(
            6, strategies.protobuf_field(1, strategies.protobuf_field(1, b"k") + strategies.protobuf_field(2, value))
        )  # AnyValue.kvlist_value.values[0]
    span = make_span().SerializeToString() + strategies.protobuf_field(
        9, strategies.protobuf_field(1, b"deep") + strategies.protobuf_field(2, value)
    )
    body = strategies.protobuf_field(1, strategies.protobuf_field(2, strategies.protobuf_field(2, span)))
    with pytest.raises(InvalidRequest):
        parse_protobuf(body)
    with pytest.raises(InvalidRequest, match="too deeply"):
        flatten_request(body)


@CHECKS
@given(
    st.lists(st.one_of(st.none(), st.text(alphabet=st.sampled_from('ab"\\\n\x00\x1fé\u2028'), max_size=8))), st.data()
)
def test_escaping_is_orjsons_on_slices_and_nulls(values: list[str | None], data: st.DataObject) -> None:
    array = pa.array(values, pa.string())
    start = data.draw(st.integers(0, len(values)))
    sliced = array.slice(start, data.draw(st.integers(0, len(values) - start)))
    escaped = _escaped(sliced)
    escaped.validate(full=True)
    expected = [None if value is None else orjson.dumps(value).decode()[1:-1] for value in sliced.to_pylist()]
    assert escaped.to_pylist() == expected
