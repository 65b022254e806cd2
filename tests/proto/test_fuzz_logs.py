"""Hostile OTLP log records: each is stored or rejected with a reason, and whatever is stored reads back,
through the ``log_records`` view and through a node's records in the logs endpoint's query."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from agentlog.errors import InvalidRequest
from agentlog.proto import decode_log_request
from agentlog.query.node_logs import node_log_records
from agentlog.store import Database
from agentlog.store.log_records import commit_rows
from tests.factories import make_request, make_span, span_rows
from tests.proto import strategies
from tests.proto.test_fuzz import any_values, text

FUZZ = settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
TRACE, SPAN = bytes(range(1, 17)), bytes(range(1, 9))


@st.composite
def hostile_records(draw: st.DrawFn) -> LogRecord:
    record = LogRecord(
        time_unix_nano=draw(st.integers(0, 2**64 - 1)),
        observed_time_unix_nano=draw(st.integers(0, 2**64 - 1)),
        severity_number=draw(st.integers(0, 30)),
        severity_text=draw(text),
        event_name=draw(st.one_of(st.just(""), st.just("gen_ai.client.inference.operation.details"), text)),
        trace_id=draw(st.one_of(st.just(TRACE), st.binary(max_size=20))),
        span_id=draw(st.one_of(st.just(SPAN), st.binary(max_size=10))),
        flags=draw(st.integers(0, 2**32 - 1)),
    )
    body = draw(st.one_of(st.none(), any_values))
    if body is not None:
        record.body.CopyFrom(body)
    for key, value in draw(st.lists(st.tuples(text, st.one_of(st.none(), any_values)), max_size=4)):
        attribute = record.attributes.add(key=key)
        if value is not None:
            attribute.value.CopyFrom(value)
    return record


@FUZZ
@given(st.lists(hostile_records(), max_size=6))
def test_hostile_log_records_are_stored_or_rejected_and_always_read_back(records: list[LogRecord]) -> None:
    request = ExportLogsServiceRequest()
    request.resource_logs.add().scope_logs.add().log_records.extend(records)
    try:
        decoded = decode_log_request(request.SerializeToString(), "protobuf", "default", 64)
    except InvalidRequest:
        return
    assert decoded.rejected == 0 or decoded.message
    database = Database.open(":memory:")
    try:
        cursor = database.cursor()
        span = span_rows(make_request([make_span(trace_id=TRACE, span_id=SPAN, name="chat")]))
        _, stored = commit_rows(cursor, [span], [decoded.table] if decoded.table is not None else [], 1)
        rows = 0 if decoded.table is None else decoded.table.num_rows
        assert rows + decoded.rejected == len(records)
        keys = [] if decoded.table is None else decoded.table.column("record_hash").to_pylist()
        assert stored == len(set(keys))  # a repeat, once
        assert len(cursor.execute("SELECT * FROM log_records").fetchall()) == stored
        mine = node_log_records(cursor, "default", int.from_bytes(TRACE, "big"), [int.from_bytes(SPAN, "big")])
        assert sum(len(found) for found in mine.values()) <= stored
    finally:
        database.close()


def test_the_strategy_reaches_the_span() -> None:
    """Not every record is rejected: some land on the span the reads look at."""
    record = LogRecord(time_unix_nano=1, trace_id=TRACE, span_id=SPAN)
    record.body.CopyFrom(strategies.array_value([]))
    request = ExportLogsServiceRequest()
    request.resource_logs.add().scope_logs.add().log_records.append(record)
    decoded = decode_log_request(request.SerializeToString(), "protobuf", "default", 64)
    database = Database.open(":memory:")
    try:
        cursor = database.cursor()
        span = span_rows(make_request([make_span(trace_id=TRACE, span_id=SPAN, name="chat")]))
        assert decoded.table is not None
        commit_rows(cursor, [span], [decoded.table], 1)
        mine = node_log_records(cursor, "default", int.from_bytes(TRACE, "big"), [int.from_bytes(SPAN, "big")])
        assert [found["body"] for found in mine[int.from_bytes(SPAN, "big")]] == [[]]
    finally:
        database.close()
