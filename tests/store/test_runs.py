"""Run roll-ups: what the writer folds into `runs`, read through `run_summaries`."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentlog.store import Database, compact_runs, insert_spans
from tests.factories import make_request, make_span, new_span_id, new_trace_id, span_rows

T0 = 1_760_000_000_000_000_000  # 2025-10-09, a day genai-prices has prices for
SECOND = 1_000_000_000


class Store:
    """An in-memory database that commits each ``add`` as one writer transaction."""

    def __init__(self) -> None:
        self.database = Database.open(":memory:")
        self.cursor = self.database.cursor()
        self.seq = 0

    def add(self, *spans: Span) -> None:
        self.seq += 1
        self.cursor.execute("BEGIN")
        insert_spans(self.cursor, [span_rows(make_request(list(spans)), "default")], self.seq)
        self.cursor.execute("COMMIT")

    def run(self) -> dict[str, Any]:
        result = self.cursor.execute("SELECT * FROM run_summaries")
        names = [column[0] for column in result.description]
        rows = result.fetchall()
        assert len(rows) == 1, rows
        return dict(zip(names, rows[0], strict=True))

    def table(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.cursor.execute(sql).fetchall())


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store()
    yield store
    store.database.close()


def agent_run(trace_id: bytes | None = None) -> list[Span]:
    """A pydantic-ai-shaped run: agent span with aggregated usage, two chat calls, a tool."""
    trace_id = trace_id or new_trace_id()
    root = make_span(
        trace_id=trace_id,
        name="invoke_agent bug-triager",
        start=T0,
        duration=10 * SECOND,
        attributes={
            "gen_ai.agent.name": "bug-triager",
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.aggregated_usage.input_tokens": 3000,
            "gen_ai.aggregated_usage.output_tokens": 300,
            "user.id": "u-1",
            "gen_ai.conversation.id": "s-1",
            "input.value": "Process PR #42",
            "final_result": "No issues found",
        },
    )
    chat = [
        make_span(
            trace_id=trace_id,
            parent_span_id=root.span_id,
            name="chat gpt-4o",
            start=T0 + (1 + 4 * i) * SECOND,
            duration=2 * SECOND,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 1000 + 1000 * i,
                "gen_ai.usage.output_tokens": 100 + 100 * i,
            },
        )
        for i in range(2)
    ]
    tool = make_span(
        trace_id=trace_id,
        parent_span_id=root.span_id,
        name="execute_tool search",
        start=T0 + 3 * SECOND,
        duration=SECOND,
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search"},
    )
    return [root, *chat, tool]


def test_a_run_rolls_up_its_nodes(store: Store) -> None:
    spans = agent_run()
    store.add(*spans)
    run = store.run()
    assert run["run_id"] == spans[0].trace_id.hex()
    assert (run["status"], run["agent"], run["user_id"], run["session_id"]) == ("success", "bug-triager", "u-1", "s-1")
    assert (run["input"], run["output"]) == ("Process PR #42", "No issues found")
    assert (run["started_ns"], run["ended_ns"]) == (T0, T0 + 10 * SECOND)
    assert (run["node_count"], run["successful_nodes"], run["failed_nodes"]) == (3, 3, 0)
    assert run["models"] == ["gpt-4o"]


def test_totals_are_the_sum_over_llm_nodes_and_aggregates_are_not_doubled(store: Store) -> None:
    store.add(*agent_run())
    run = store.run()
    # The agent span's aggregated 3000/300 repeats the chat spans' usage: not added again.
    assert (run["input_tokens"], run["output_tokens"], run["total_tokens"]) == (3000, 300, 3300)
    nodes = store.table(
        "SELECT sum(input_tokens), sum(output_tokens), sum(cost_usd) FROM stored_spans WHERE node_type = 'llm'"
    )
    assert nodes == [(3000, 300, run["cost_usd"])]
    # gpt-4o: $2.50 per million input tokens, $10 per million output tokens.
    assert run["cost_usd"] == Decimal("0.0075") + Decimal("0.003")
    assert run["cost_source"] == "computed"


def test_an_agent_span_reporting_plain_usage_of_its_children_is_not_doubled(store: Store) -> None:
    spans = agent_run()
    root = spans[0]
    del root.attributes[:]
    root.attributes.extend(
        make_span(attributes={"gen_ai.agent.name": "bug-triager", "gen_ai.usage.input_tokens": 3000}).attributes
    )
    store.add(*spans)
    assert store.run()["input_tokens"] == 3000


def test_reported_cost_wins_and_unknown_models_stay_unknown(store: Store) -> None:
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="run", start=T0)
    reported = make_span(
        trace_id=trace_id,
        parent_span_id=root.span_id,
        start=T0 + 1,
        attributes={"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o",
                    "llm.token_count.prompt": 10, "llm.token_count.completion": 5, "llm.cost.total": 0.125},
    )  # fmt: skip
    unknown = make_span(
        trace_id=trace_id,
        parent_span_id=root.span_id,
        start=T0 + 2,
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "in-house-llm-v9",
                    "gen_ai.usage.input_tokens": 7, "gen_ai.usage.output_tokens": 3},
    )  # fmt: skip
    store.add(root, reported, unknown)
    run = store.run()
    assert run["cost_usd"] == Decimal("0.125")
    assert run["cost_source"] == "partial"  # one node's cost is unknown: the total is a lower bound
    assert (run["input_tokens"], run["output_tokens"]) == (17, 8)
    rows = store.table(
        "SELECT model, cost_usd, cost_source FROM stored_spans WHERE parent_span_id IS NOT NULL ORDER BY model"
    )
    assert rows == [("gpt-4o", Decimal("0.125"), "reported"), ("in-house-llm-v9", None, "unknown")]


def test_a_run_without_usage_has_no_cost_and_no_cost_source(store: Store) -> None:
    store.add(make_span(name="plain"))
    run = store.run()
    assert (run["cost_usd"], run["cost_source"], run["total_tokens"]) == (None, None, 0)


def test_a_run_whose_only_usage_cannot_be_priced_has_an_unknown_cost_not_zero(store: Store) -> None:
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="run", start=T0)
    unpriced = make_span(
        trace_id=trace_id,
        parent_span_id=root.span_id,
        start=T0 + 1,
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "in-house-llm-v9",
                    "gen_ai.usage.input_tokens": 7, "gen_ai.usage.output_tokens": 3},
    )  # fmt: skip
    store.add(root, unpriced)
    run = store.run()
    assert (run["cost_usd"], run["cost_source"], run["total_tokens"]) == (None, "unknown", 10)


def test_status_follows_the_root_then_the_last_node(store: Store) -> None:
    spans = agent_run()
    store.add(*spans[1:])
    assert store.run()["status"] == "running"  # no root yet
    store.add(spans[0])
    assert store.run()["status"] == "success"


def test_a_failed_root_fails_the_run_and_names_the_first_error(store: Store) -> None:
    spans = agent_run()
    spans[3].status.code = 2  # the tool
    spans[3].status.message = "search backend down"
    spans[0].status.code = 2
    spans[0].status.message = "agent gave up"
    store.add(*spans)
    run = store.run()
    assert run["status"] == "failed"
    assert (run["error_node"], run["error_message"], run["failed_nodes"]) == (
        "execute_tool search",
        "search backend down",
        1,
    )


def test_an_error_the_agent_recovered_from_does_not_fail_the_run(store: Store) -> None:
    spans = agent_run()
    spans[3].status.code = 2  # the tool fails at t+3s; the second chat call at t+5s succeeds
    store.add(*spans)
    run = store.run()
    assert (run["status"], run["failed_nodes"], run["error_node"]) == ("success", 1, "execute_tool search")


def test_a_run_that_ends_on_a_failed_node_failed(store: Store) -> None:
    spans = agent_run()
    spans[2].status.code = 2  # the last chat call
    store.add(*spans)
    assert store.run()["status"] == "failed"


def test_an_explicit_ok_root_wins(store: Store) -> None:
    spans = agent_run()
    spans[2].status.code = 2
    spans[0].status.code = 1
    store.add(*spans)
    assert store.run()["status"] == "success"


def test_retried_spans_are_not_counted_twice(store: Store) -> None:
    spans = agent_run()
    store.add(*spans)
    store.add(*spans)
    store.add(spans[1], spans[1])
    run = store.run()
    assert (run["node_count"], run["input_tokens"]) == (3, 3000)


def _marker(span: Span, **attributes: Any) -> Span:
    marker = make_span(
        trace_id=span.trace_id,
        span_id=span.span_id,
        parent_span_id=span.parent_span_id,
        name=span.name,
        start=span.start_time_unix_nano,
        duration=0,
        attributes={"agentlog.span_type": "pending", **attributes},
    )
    return marker


def test_a_pending_marker_shows_a_running_run_and_never_lingers(store: Store) -> None:
    spans = agent_run()
    root = spans[0]
    store.add(_marker(root, **{"gen_ai.agent.name": "bug-triager", "input.value": "Process PR #42"}))
    run = store.run()
    assert (run["status"], run["agent"], run["input"], run["node_count"]) == (
        "running",
        "bug-triager",
        "Process PR #42",
        0,
    )
    assert run["started_ns"] == T0
    store.add(_marker(spans[3]))  # the tool starts
    assert store.table("SELECT count(*) FROM pending_spans") == [(2,)]
    assert store.table("SELECT count(*) FROM stored_spans") == [(0,)]
    store.add(*spans)
    assert store.table("SELECT count(*) FROM pending_spans") == [(0,)]
    run = store.run()
    assert (run["status"], run["node_count"], run["output"]) == ("success", 3, "No issues found")


def test_a_marker_arriving_after_its_span_changes_nothing(store: Store) -> None:
    spans = agent_run()
    store.add(*spans)
    before = store.run()
    store.add(_marker(spans[0], **{"input.value": "stale"}))
    after = store.run()
    assert {k: v for k, v in after.items() if k != "commit_seq"} == {
        k: v for k, v in before.items() if k != "commit_seq"
    }


def test_a_logfire_pending_span_announces_its_parent(store: Store) -> None:
    spans = agent_run()
    root = spans[0]
    logfire_marker = make_span(
        trace_id=root.trace_id,
        span_id=new_span_id(),
        parent_span_id=root.span_id,
        name=root.name,
        start=root.start_time_unix_nano,
        duration=0,
        attributes={"logfire.span_type": "pending_span", "logfire.pending_parent_id": "0000000000000000",
                    "gen_ai.agent.name": "bug-triager"},
    )  # fmt: skip
    store.add(logfire_marker)
    run = store.run()
    assert (run["status"], run["agent"], run["node_count"]) == ("running", "bug-triager", 0)
    assert store.table("SELECT printf('%016x', span_id), parent_span_id FROM pending_spans") == [
        (root.span_id.hex(), None)
    ]
    store.add(*spans)
    assert store.table("SELECT count(*) FROM pending_spans") == [(0,)]
    assert store.run()["status"] == "success"


def _two_runs() -> list[Span]:
    first = agent_run()
    first[3].status.code = 2
    second = agent_run()
    marker = _marker(second[0], **{"gen_ai.agent.name": "bug-triager"})
    return [*first, *second, marker, first[1]]  # includes a duplicate


def _runs_without_seq(store: Store) -> list[tuple[Any, ...]]:
    return store.table("SELECT * EXCLUDE (commit_seq, first_seq) FROM run_rollups ORDER BY trace_id")


REFERENCE = _two_runs()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.permutations(range(len(REFERENCE))),
    cuts=st.sets(st.integers(1, len(REFERENCE) - 1), max_size=5),
    compactions=st.sets(st.integers(0, 5), max_size=3),
)
def test_runs_roll_up_identically_whatever_the_order_batching_and_compaction(
    order: list[int], cuts: set[int], compactions: set[int]
) -> None:
    """Whatever the order of the spans, however they are batched, wherever the partial roll-ups
    are compacted (after the i-th batch, for i in ``compactions``)."""
    expected = Store()
    expected.add(*REFERENCE)
    shuffled = [REFERENCE[i] for i in order]
    bounds = [0, *sorted(cuts), len(shuffled)]
    actual = Store()
    for batch, (start, end) in enumerate(pairwise(bounds)):
        actual.add(*shuffled[start:end])
        if batch in compactions:
            compact_runs(actual.cursor)
    assert _runs_without_seq(actual) == _runs_without_seq(expected)
    compact_runs(actual.cursor)
    assert _runs_without_seq(actual) == _runs_without_seq(expected)
    # A marker that arrives after its span may stay in the table, but never shows a node as running.
    running = "SELECT count(*) FROM pending_spans ANTI JOIN stored_spans USING (tenant_id, trace_id, span_id)"
    assert actual.table(running) == [(0,)]
    expected.database.close()
    actual.database.close()


def test_a_remote_agent_with_no_llm_spans_counts_its_own_usage(store: Store) -> None:
    # GenAI semconv: invoke_agent of a hosted assistant reports the agent's usage on the agent span.
    agent = make_span(
        name="invoke_agent Math Tutor",
        start=T0,
        attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Math Tutor",
                    "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 420,
                    "gen_ai.usage.output_tokens": 80},
    )  # fmt: skip
    store.add(agent, make_span(trace_id=agent.trace_id, parent_span_id=agent.span_id, name="step", start=T0 + 1))
    run = store.run()
    assert (run["input_tokens"], run["output_tokens"], run["total_tokens"]) == (420, 80, 500)
    assert run["cost_usd"] == Decimal("0.00185")
    assert run["cost_source"] == "computed"


def test_a_run_over_many_commits_collects_every_model_once(store: Store) -> None:
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="invoke_agent planner", attributes={"gen_ai.agent.name": "planner"})

    def chat(model: str) -> Span:
        attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model, "gen_ai.usage.input_tokens": 10}
        return make_span(trace_id=trace_id, parent_span_id=root.span_id, name=f"chat {model}", attributes=attributes)

    store.add(chat("gpt-4o"))
    store.add(chat("claude-sonnet-4-5"), chat("gpt-4o"))
    store.add(chat("gpt-4o"), root)
    run = store.run()
    assert run["models"] == ["claude-sonnet-4-5", "gpt-4o"]
    assert (run["node_count"], run["input_tokens"]) == (4, 40)
    assert store.table("SELECT count(*) FROM run_rollups") == [(1,)]
