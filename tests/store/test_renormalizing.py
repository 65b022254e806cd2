"""Re-normalising stored spans: by the conventions they were stored with, nothing changes; by others, the
store ends exactly as if those conventions had been read at ingest (spans, runs and their roll-ups)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentlog.proto import DEFAULT_MAX_ATTRIBUTE_LENGTH, decode_request
from agentlog.proto.conventions import BUILT_IN, Conventions
from agentlog.proto.conventions_file import extend
from agentlog.store import Database, insert_spans
from agentlog.store.renormalizing import renormalize
from tests.factories import agent_spans, key_values, make_request, make_span, new_trace_id

FIXTURES = Path(__file__).resolve().parents[1] / "interop" / "fixtures"
T0 = 1_760_000_000_000_000_000  # 2025-10-09, a day genai-prices has prices for

ACME = extend(
    BUILT_IN,
    {
        "columns": {"user_id": "acme.customer_id", "agent_name": "acme.flow", "model": "acme.llm",
                    "input_tokens": "acme.tokens.in", "output_tokens": "acme.tokens.out", "input": "acme.request",
                    "session_id": "gen_ai.agent.name"},  # a built-in key moved to another column
        "node_types": {"acme.step": {"flow": "agent", "model_call": "llm", "lookup": "tool"}},
    },
    "acme.toml",
)  # fmt: skip


def acme_run(trace_id: bytes | None = None) -> list[Span]:
    trace_id = trace_id or new_trace_id()
    root = make_span(trace_id=trace_id, name="handle ticket", start=T0,
                     attributes={"acme.step": "flow", "acme.flow": "refunds", "acme.customer_id": "c-42",
                                 "acme.request": "Refund order 1", "user.id": "u-builtin"})  # fmt: skip
    call = make_span(trace_id=trace_id, parent_span_id=root.span_id, name="ask", start=T0 + 1,
                     attributes={"acme.step": "model_call", "acme.llm": "gpt-4o", "acme.tokens.in": 1000,
                                 "acme.tokens.out": "50", "gen_ai.request.model": "gpt-4o-mini",
                                 "gen_ai.usage.input_tokens": 7})  # fmt: skip
    lookup = make_span(trace_id=trace_id, parent_span_id=root.span_id, name="orders.get", start=T0 + 2,
                       attributes={"acme.step": "lookup"})  # fmt: skip
    return [root, call, lookup]


def with_events(trace_id: bytes | None = None) -> list[Span]:
    """A failed model call whose messages came as events, and an exception event."""
    trace_id = trace_id or new_trace_id()
    root = make_span(trace_id=trace_id, name="invoke_agent helper", attributes={"gen_ai.agent.name": "helper"})
    call = make_span(trace_id=trace_id, parent_span_id=root.span_id, name="chat", status_code=2,
                     attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})  # fmt: skip
    event = call.events.add(name="gen_ai.client.inference.operation.details", time_unix_nano=call.start_time_unix_nano)
    event.attributes.extend(key_values({"gen_ai.input.messages": '[{"role": "user", "content": "hi"}]',
                                        "gen_ai.output.messages": '[{"role": "assistant", "content": "yo"}]'}))  # fmt: skip
    boom = call.events.add(name="exception", time_unix_nano=call.end_time_unix_nano)
    boom.attributes.extend(key_values({"exception.type": "Timeout", "exception.message": "took too long"}))
    return [root, call]


def rows(request_bytes: bytes, encoding: Any, conventions: Conventions) -> pa.Table:
    decoded = decode_request(request_bytes, encoding, "default", DEFAULT_MAX_ATTRIBUTE_LENGTH, conventions)
    assert decoded.table is not None, decoded.message
    return decoded.table


def requests() -> list[tuple[bytes, str]]:
    """Several commits' worth: agent runs, an organisation's run split over two commits, events, real
    Vercel AI SDK captures."""
    split = new_trace_id()
    first, *rest = acme_run(split)
    return [
        (make_request(agent_spans(5)).SerializeToString(), "protobuf"),
        (make_request([first]).SerializeToString(), "protobuf"),
        (make_request(acme_run() + with_events()).SerializeToString(), "protobuf"),
        (make_request(rest).SerializeToString(), "protobuf"),
        ((FIXTURES / "vercel_ai_v6.json").read_bytes(), "json"),
        ((FIXTURES / "vercel_ai_v5.json").read_bytes(), "json"),
    ]


REQUESTS = requests()
"""The same requests (trace and span ids) for every store: stores by different conventions are compared."""


def stored(conventions: Conventions) -> Database:
    database = Database.open(":memory:")
    cursor = database.cursor()
    for seq, (body, encoding) in enumerate(REQUESTS, start=1):
        insert_spans(cursor, [rows(body, encoding, conventions)], seq)
    return database


@pytest.fixture
def built_in() -> Iterator[Database]:
    database = stored(BUILT_IN)
    yield database
    database.close()


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    cursor = database.cursor()
    return {
        "spans": cursor.execute(
            "SELECT * EXCLUDE (commit_seq) FROM stored_spans ORDER BY trace_id, span_id"
        ).fetchall(),
        "runs": cursor.execute("SELECT * FROM runs ORDER BY run_id").fetchall(),
        "seqs": cursor.execute("SELECT trace_id, first_seq, commit_seq FROM run_rollups ORDER BY trace_id").fetchall(),
        "partials": cursor.execute("SELECT count(*) FROM run_partials").fetchall(),
    }


def test_by_the_conventions_it_was_stored_with_nothing_changes(built_in: Database) -> None:
    before = snapshot(built_in)
    dry = renormalize(built_in.cursor(), "default", 0, BUILT_IN, DEFAULT_MAX_ATTRIBUTE_LENGTH, dry_run=True)
    assert dry.spans > 50
    assert (dry.changed, dry.runs, dry.to_json()["columns_changed"]) == (0, 0, {})
    done = renormalize(built_in.cursor(), "default", 0, BUILT_IN, DEFAULT_MAX_ATTRIBUTE_LENGTH, dry_run=False)
    assert (done.changed, done.runs) == (0, 0)
    assert snapshot(built_in) == before


def test_by_other_conventions_the_store_ends_as_if_ingested_by_them(built_in: Database) -> None:
    before = snapshot(built_in)
    dry = renormalize(built_in.cursor(), "default", 0, ACME, DEFAULT_MAX_ATTRIBUTE_LENGTH, dry_run=True)
    assert snapshot(built_in) == before  # a dry run writes nothing
    assert dry.runs == 4  # the two organisation's runs (one split over two commits), the two with agent names
    assert dry.to_json()["columns_changed"]["user_id"] == 2  # each organisation root has one
    assert {"node_type", "agent_name", "model", "input_tokens", "session_id"} <= set(dry.to_json()["columns_changed"])

    done = renormalize(built_in.cursor(), "default", 0, ACME, DEFAULT_MAX_ATTRIBUTE_LENGTH, dry_run=False)
    assert done.to_json() == {**dry.to_json(), "dry_run": False}
    expected = stored(ACME)
    try:
        after, wanted = snapshot(built_in), snapshot(expected)
        assert after["spans"] == wanted["spans"]
        assert after["runs"] == wanted["runs"]
        assert after["seqs"] == wanted["seqs"]  # the logs read a run's spans between its first and last commit
    finally:
        expected.close()
    again = renormalize(built_in.cursor(), "default", 0, ACME, DEFAULT_MAX_ATTRIBUTE_LENGTH, dry_run=False)
    assert again.changed == 0


def test_only_spans_started_since_and_not_of_running_runs(built_in: Database) -> None:
    cursor = built_in.cursor()
    late = renormalize(cursor, "default", T0 + 2, ACME, DEFAULT_MAX_ATTRIBUTE_LENGTH, dry_run=True)
    assert late.changed == 2  # the lookups (started at T0 + 2) of the two organisation's runs
    # A run with a live-status marker waiting is left alone.
    trace_id = new_trace_id()
    root, call, lookup = acme_run(trace_id)
    marker = make_span(trace_id=trace_id, span_id=call.span_id, parent_span_id=root.span_id, name="ask", start=T0 + 1,
                       attributes={"agentlog.span_type": "pending", "acme.step": "model_call"})  # fmt: skip
    insert_spans(cursor, [rows(make_request([root, lookup, marker]).SerializeToString(), "protobuf", BUILT_IN)], 99)
    result = renormalize(cursor, "default", 0, ACME, DEFAULT_MAX_ATTRIBUTE_LENGTH, dry_run=True)
    assert result.running_runs == 1
    assert result.runs == 4  # as in the test above: the running one is not among them
