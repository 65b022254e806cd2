"""Repricing prices cache reads and cache writes as ingest does."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from agentlog.store import Database, insert_spans
from agentlog.store.repricing import reprice
from tests.factories import make_request, make_span, new_trace_id, span_rows

T0 = 1_760_000_000_000_000_000  # 2025-10-09, a day genai-prices has prices for
# claude-haiku-4-5 per million tokens: $1 input, $0.10 cache read, $1.25 cache write, $5 output.
HAIKU = Decimal("0.000500") + Decimal("0.000020") + Decimal("0.000375") + Decimal("0.000250")


@pytest.fixture
def database() -> Iterator[Database]:
    database = Database.open(":memory:")
    yield database
    database.close()


def test_reprice_passes_the_stored_cache_writes(database: Database) -> None:
    cursor = database.cursor()
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="invoke_agent triage", start=T0, attributes={"gen_ai.agent.name": "t"})
    call = make_span(
        trace_id=trace_id,
        parent_span_id=root.span_id,
        name="chat claude-haiku-4-5",
        start=T0,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "claude-haiku-4-5",
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.cache_read.input_tokens": 200,
            "gen_ai.usage.cache_creation.input_tokens": 300,
            "gen_ai.usage.output_tokens": 50,
        },
    )
    insert_spans(cursor, [span_rows(make_request([root, call]), "default")], 1)
    ingest = "SELECT cache_read_tokens, cache_write_tokens, cost_usd, cost_source FROM spans WHERE node_type = 'llm'"
    assert cursor.execute(ingest).fetchall() == [(200, 300, HAIKU, "computed")]
    cursor.execute("UPDATE stored_spans SET cost_usd = 1 WHERE cost_source = 'computed'")  # as if mispriced

    repriced = reprice(cursor, "default", 0)

    assert (repriced.spans, repriced.changed, repriced.runs) == (1, 1, 1)
    assert cursor.execute(ingest).fetchall() == [(200, 300, HAIKU, "computed")]
    run = "SELECT cache_read_tokens, cache_write_tokens, cost_usd, cost_source FROM runs"
    assert cursor.execute(run).fetchall() == [(200, 300, HAIKU, "computed")]
