"""canonical_table on the columnar decoder's own tables (flatten_request) == decode_spans' canonical rows.

test_canonical checks canonical_table against normalize on tables built by a test helper; this checks the
two halves of the columnar path together, on the same requests decode_spans reads.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentlog.proto import canonical, columnar
from agentlog.proto.canonical import canonical_table
from agentlog.proto.columnar import flatten_request
from agentlog.proto.otlp import parse_protobuf
from agentlog.proto.spans import decode_spans
from tests.factories import agent_spans, make_request, new_span_id, new_trace_id
from tests.proto.columnar_inputs import SpanInput
from tests.proto.test_canonical import dense_spans, priced_spans, spans_strategy
from tests.proto.test_columnar import requests


def assert_canonical_as_decode_spans(body: bytes, max_length: int = 128 * 1024) -> None:
    flat = flatten_request(body, max_length)
    expected = [row._asdict() for row in decode_spans(parse_protobuf(body), max_length).canonical]
    assert canonical_table(flat.spans, flat.attributes, flat.exceptions, max_length, flat.lent).to_pylist() == expected


def any_value(value: Any) -> AnyValue:
    """A Python value as the OTLP value ``anyvalue`` reads back as it (bytes: a bytes value; None: unset)."""
    out = AnyValue()
    if isinstance(value, str):
        out.string_value = value
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, bytes):
        out.bytes_value = value
    elif isinstance(value, list):
        out.array_value.values.extend(any_value(item) for item in value)
    elif isinstance(value, dict):
        for key, item in value.items():
            out.kvlist_value.values.add(key=key).value.CopyFrom(any_value(item))
    return out


def request_of(inputs: list[SpanInput]) -> bytes:
    request = ExportTraceServiceRequest()
    scope_spans = request.resource_spans.add().scope_spans.add()
    for s in inputs:
        span = Span(
            trace_id=new_trace_id(),
            span_id=new_span_id(),
            name=s.name,
            start_time_unix_nano=s.start,
            end_time_unix_nano=s.start + 1,
        )
        for key, value in s.attributes:
            span.attributes.add(key=key).value.CopyFrom(any_value(value))
        span.status.code, span.status.message = s.status_code, s.status_message
        if s.exception is not None:
            event = span.events.add(name="exception")
            for key, value in s.exception.items():
                event.attributes.add(key=key).value.CopyFrom(any_value(value))
        scope_spans.spans.append(span)
    return request.SerializeToString()


def test_factory_requests() -> None:
    for count in (1, 2, 17):
        assert_canonical_as_decode_spans(make_request(agent_spans(count)).SerializeToString())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans_strategy | priced_spans() | dense_spans, max_size=6), st.sampled_from([4, 40, 128 * 1024]))
def test_random_conventions_attributes(inputs: list[SpanInput], max_length: int) -> None:
    body = request_of(inputs)
    try:
        expected = decode_spans(parse_protobuf(body), max_length).canonical
    except ArithmeticError:
        return  # a reported cost Decimal cannot quantize: normalize fails too (test_canonical checks the table does)
    flat = flatten_request(body, max_length)
    if any(isinstance(v, int) and not -(2**63) <= v < 2**63 for row in expected for v in row):
        with pytest.raises(OverflowError):  # a count normalize returns beyond int64
            canonical_table(flat.spans, flat.attributes, flat.exceptions, max_length, flat.lent)
        return
    got = canonical_table(flat.spans, flat.attributes, flat.exceptions, max_length, flat.lent).to_pylist()
    assert got == [row._asdict() for row in expected]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests(), st.sampled_from([0, 5, 128 * 1024]))
def test_random_requests(request: ExportTraceServiceRequest, max_length: int) -> None:
    assert_canonical_as_decode_spans(request.SerializeToString(), max_length)


def test_value_type_codes_are_the_decoders() -> None:
    assert (canonical.T_STR, canonical.T_BOOL, canonical.T_INT, canonical.T_DOUBLE) == (
        columnar.TYPE_STRING,
        columnar.TYPE_BOOL,
        columnar.TYPE_INT,
        columnar.TYPE_DOUBLE,
    )
    assert (canonical.T_ARRAY, canonical.T_KVLIST, canonical.T_BYTES, canonical.T_EMPTY) == (
        columnar.TYPE_ARRAY,
        columnar.TYPE_KVLIST,
        columnar.TYPE_BYTES,
        columnar.TYPE_EMPTY,
    )


# --------------------------------------------------------------------------- messages sent as span events

MESSAGES = [{"role": "user", "parts": [{"type": "text", "content": "What is the weather in Paris?"}]}]
ANSWER = [{"role": "assistant", "parts": [{"type": "text", "content": "Sunny."}], "finish_reason": "stop"}]
EVENT_NAMES = ["gen_ai.client.inference.operation.details", "gen_ai.content.prompt", "gen_ai.content.completion",
               "exception", "other"]  # fmt: skip
EVENT_KEYS = ["gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.prompt", "gen_ai.completion", "x"]
VALUES = st.one_of(
    st.none(), st.text(max_size=8), st.integers(-3, 3), st.just(MESSAGES), st.just(ANSWER), st.just(""),
    st.just('[{"role":"user","content":"as JSON text"}]'),
)  # fmt: skip


def span_with_events(
    name: str, attributes: dict[str, Any], events: list[tuple[str, dict[str, Any]]], status_code: int = 0
) -> Span:
    span = Span(trace_id=new_trace_id(), span_id=new_span_id(), name=name, start_time_unix_nano=10**18,
                end_time_unix_nano=10**18 + 1)  # fmt: skip
    for key, value in attributes.items():
        span.attributes.add(key=key).value.CopyFrom(any_value(value))
    for event_name, event_attributes in events:
        event = span.events.add(name=event_name)
        for key, value in event_attributes.items():
            event.attributes.add(key=key).value.CopyFrom(any_value(value))
    span.status.code = status_code
    return span


def canonical_rows(spans: list[Span], max_length: int = 128 * 1024) -> list[dict[str, Any]]:
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.extend(spans)
    body = request.SerializeToString()
    assert_canonical_as_decode_spans(body, max_length)
    flat = flatten_request(body, max_length)
    rows: list[dict[str, Any]] = canonical_table(
        flat.spans, flat.attributes, flat.exceptions, max_length, flat.lent
    ).to_pylist()
    return rows


def test_a_chat_span_reads_its_messages_from_the_inference_details_event() -> None:
    details = {"gen_ai.operation.name": "chat", "gen_ai.input.messages": MESSAGES, "gen_ai.output.messages": ANSWER}
    chat = span_with_events("chat gpt-4o", {"gen_ai.operation.name": "chat"},
                            [("gen_ai.client.inference.operation.details", details)])  # fmt: skip
    (row,) = canonical_rows([chat])
    assert (row["input"], row["output"]) == (json_text(MESSAGES), json_text(ANSWER))
    assert (row["input_key"], row["output_key"]) == (None, None)  # the text is not in the span's attributes


def test_an_agent_span_takes_the_first_user_message_from_the_event_and_its_own_keys_win() -> None:
    details = {"gen_ai.input.messages": MESSAGES, "gen_ai.output.messages": ANSWER}
    own = {"gen_ai.operation.name": "invoke_agent", "gen_ai.output.messages": "own answer"}
    agent = span_with_events("invoke_agent a", own, [("gen_ai.client.inference.operation.details", details)])
    (row,) = canonical_rows([agent])
    assert (row["input"], row["output"], row["output_key"]) == (
        "What is the weather in Paris?",
        "own answer",
        "gen_ai.output.messages",
    )


def test_the_older_prompt_and_completion_events_lend_their_text() -> None:
    span = span_with_events("chat", {}, [("gen_ai.content.prompt", {"gen_ai.prompt": "hi"}),
                                          ("gen_ai.content.completion", {"gen_ai.completion": "hello"}),
                                          ("gen_ai.content.prompt", {"gen_ai.prompt": "second"})])  # fmt: skip
    (row,) = canonical_rows([span])
    assert (row["input"], row["output"], row["input_key"]) == ("hi", "hello", None)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["chat", "invoke_agent x", "tool"]),
            st.dictionaries(st.sampled_from(["gen_ai.input.messages", "input.value", "gen_ai.output.messages"]),
                            VALUES, max_size=2),
            st.lists(st.tuples(st.sampled_from(EVENT_NAMES), st.dictionaries(st.sampled_from(EVENT_KEYS), VALUES,
                                                                            max_size=3)), max_size=4),
            st.sampled_from([0, 2]),
        ),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from([4, 40, 128 * 1024]),
)  # fmt: skip
def test_random_message_events_read_as_decode_spans_reads_them(
    spans: list[tuple[str, dict[str, Any], list[tuple[str, dict[str, Any]]], int]], max_length: int
) -> None:
    canonical_rows([span_with_events(*span) for span in spans], max_length)


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode()
