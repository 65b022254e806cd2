from __future__ import annotations

import orjson
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentlog.proto.spans import SPAN_COLUMNS, decode_spans
from tests.factories import make_request, make_span


def test_decoded_columns_carry_every_span_field() -> None:
    span = make_span(
        trace_id=bytes.fromhex("0af7651916cd43dd8448eb211c80319c"),
        span_id=bytes.fromhex("b7ad6b7169203331"),
        parent_span_id=bytes.fromhex("00f067aa0ba902b7"),
        name="execute_tool search",
        attributes={"gen_ai.tool.name": "search"},
        start=10,
        duration=5,
        status_code=2,
        status_message="boom",
        kind=3,
    )
    span.trace_state = "vendor=1"
    span.flags = 0x101
    span.dropped_attributes_count = 4
    span.dropped_events_count = 5
    span.dropped_links_count = 6
    event = span.events.add(time_unix_nano=12, name="exception")
    event.attributes.add(key="exception.message").value.string_value = "boom"
    link = span.links.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, trace_state="t=1")
    link.attributes.add(key="why").value.string_value = "retry-of"

    batch = decode_spans(make_request([span], service_name="svc", scope="scope-x"))
    row = {column: getattr(batch, column)[0] for column in SPAN_COLUMNS}
    assert row == {
        "trace_id": 0x0AF7651916CD43DD8448EB211C80319C,
        "span_id": 0xB7AD6B7169203331,
        "parent_span_id": 0x00F067AA0BA902B7,
        "trace_state": "vendor=1",
        "flags": 0x101,
        "name": "execute_tool search",
        "kind": 3,
        "start_time_unix_nano": 10,
        "end_time_unix_nano": 15,
        "status_code": 2,
        "status_message": "boom",
        "service_name": "svc",
        "resource_attributes": '{"service.name":"svc"}',
        "scope_name": "scope-x",
        "scope_version": "1.0",
        "attributes": '{"gen_ai.tool.name":"search"}',
        "events": row["events"],
        "links": row["links"],
        "dropped_attributes_count": 4,
        "dropped_events_count": 5,
        "dropped_links_count": 6,
        "is_pending": False,
    }
    assert orjson.loads(row["events"]) == [
        {
            "time_unix_nano": 12,
            "name": "exception",
            "attributes": {"exception.message": "boom"},
            "dropped_attributes_count": 0,
        }
    ]
    assert orjson.loads(row["links"]) == [
        {
            "trace_id": "01" * 16,
            "span_id": "02" * 8,
            "trace_state": "t=1",
            "flags": 0,
            "attributes": {"why": "retry-of"},
            "dropped_attributes_count": 0,
        }
    ]


def test_a_root_has_no_parent_even_when_sent_as_zeros() -> None:
    batch = decode_spans(make_request([make_span(), make_span(parent_span_id=b"\x00" * 8)]))
    assert batch.parent_span_id == [None, None]


def test_invalid_ids_are_rejected_one_by_one() -> None:
    spans = [
        make_span(name="ok"),
        make_span(name="short-trace", trace_id=b"\x01"),
        Span(trace_id=b"\x01" * 16, name="no-span-id"),
        make_span(name="bad-parent", parent_span_id=b"\x01\x02\x03"),
        make_span(name="zero-trace", trace_id=b"\x00" * 16),
    ]
    batch = decode_spans(make_request(spans))
    assert batch.name == ["ok"]
    assert batch.rejected == 4
    message = batch.rejection_message
    assert message.startswith("4 span(s) rejected: ")
    for reason in ("'short-trace': trace_id must be 16 bytes, got 1", "'no-span-id': span_id must be 8 bytes, got 0",
                   "'bad-parent': parent_span_id must be empty or 8 bytes", "'zero-trace': trace_id is all zeros"):  # fmt: skip
        assert reason in message


def test_the_rejection_message_is_bounded_but_the_count_exact() -> None:
    batch = decode_spans(make_request([make_span(trace_id=b"\x01") for _ in range(50)]))
    assert batch.rejected == 50
    assert batch.rejection_message.endswith("; and 45 more")


def test_service_name_comes_from_the_resource_per_resource() -> None:
    request = make_request([make_span()], service_name="a")
    request.resource_spans.extend(make_request([make_span(), make_span()], service_name="b").resource_spans)
    assert decode_spans(request).service_name == ["a", "b", "b"]


def test_attribute_limit_applies() -> None:
    batch = decode_spans(make_request([make_span(attributes={"input.value": "y" * 100})]), max_attribute_length=8)
    assert orjson.loads(batch.attributes[0])["input.value"].startswith("yyyyyyyy…[agentlog: truncated 92 of 100")
