"""run_logs on a real DuckDB file: the errors come with the run's shape, in the order they failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentlog.query import logs as logs_module
from agentlog.query.logs import MAX_ERRORS, MAX_LIMIT, LogsQuery, as_values, run_logs
from agentlog.query.scope import LOCAL
from agentlog.store import Database, commit_spans
from tests.factories import make_request, make_span, span_rows

SECOND = 10**9
T0 = 1_790_000_000 * SECOND


def step(root: Span, i: int, duration: int) -> Span:
    return make_span(
        trace_id=root.trace_id,
        parent_span_id=root.span_id,
        name=f"step-{i}",
        start=T0 + i * SECOND,
        duration=duration,
        status_code=2,
        status_message=f"broke {i}",
    )


def test_errors_are_the_first_failures_by_end_time_and_the_count_stays_exact(tmp_path: Path) -> None:
    database = Database.open(tmp_path / "logs.duckdb")
    root = make_span(name="invoke_agent", start=T0, duration=1000 * SECOND, status_code=2, status_message="gave up")
    failures = MAX_ERRORS + 5
    # Steps fail in reverse order of their start: the errors list follows when they ended.
    steps = [step(root, i, duration=(failures - i) * 2 * SECOND) for i in range(failures)]
    fine = make_span(trace_id=root.trace_id, parent_span_id=root.span_id, name="fine", start=T0, duration=SECOND)
    running = make_span(trace_id=root.trace_id, parent_span_id=root.span_id, name="running", start=T0, duration=0,
                        attributes={"agentlog.span_type": "pending"})  # fmt: skip
    batch = span_rows(make_request([root, *steps, fine, running]), LOCAL.tenant_id)
    commit_spans(database.cursor(), [batch], 1)

    logs = run_logs(database.cursor(), LOCAL, LogsQuery(root.trace_id.hex(), limit=10))
    assert len(logs["errors"]) == MAX_ERRORS
    ends = [error["time"] for error in logs["errors"]]
    assert ends == sorted(ends)
    assert [error["node"] for error in logs["errors"][:3]] == [f"step-{i}" for i in (104, 103, 102)]
    assert logs["errors"][0] == {
        "node": "step-104", "span_id": steps[-1].span_id.hex(), "type": "error", "message": "broke 104",
        "time": logs["errors"][0]["time"],
    }  # fmt: skip
    assert logs["summary"]["failed_nodes"] == failures
    assert logs["summary"]["running_nodes"] == 1  # the marker is a running node, never an error


def test_a_node_document_says_everything_the_api_promises(tmp_path: Path) -> None:
    database = Database.open(tmp_path / "logs.duckdb")
    root = make_span(name="invoke_agent", start=T0, duration=10 * SECOND)
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 500,
        "gen_ai.usage.cost": 0.0125,
        "gen_ai.input.messages": "hello",
        "ratio": 0.5,
    }
    chat = make_span(
        trace_id=root.trace_id, parent_span_id=root.span_id, name="chat gpt-4o", start=T0 + SECOND,
        duration=1_250_000_000, status_code=2, status_message="rate limited", attributes=attributes,
    )  # fmt: skip
    chat.events.add(time_unix_nano=T0 + 2 * SECOND, name="exception")
    announced = make_span(
        trace_id=root.trace_id, parent_span_id=root.span_id, name="execute_tool search", start=T0 + 3 * SECOND,
        duration=0, attributes={"agentlog.span_type": "pending", "gen_ai.tool.name": "search"},
    )  # fmt: skip
    batch = span_rows(make_request([root, chat, announced]), LOCAL.tenant_id)
    commit_spans(database.cursor(), [batch], 1)

    nodes = as_values(run_logs(database.cursor(), LOCAL, LogsQuery(root.trace_id.hex())))["nodes"]

    assert nodes[0] == {
        "id": "chat gpt-4o", "type": "llm", "input": "hello", "output": None, "time": "1.2s", "status": "failed",
        "span_id": chat.span_id.hex(), "parent_span_id": root.span_id.hex(), "depth": 1,
        "started_at": "2026-09-21T14:13:21.000Z", "ended_at": "2026-09-21T14:13:22.250Z", "duration_ms": 1250.0,
        "model": "gpt-4o", "tool": None,
        "tokens": {"input": 1000, "output": 500, "cache_read": None, "cache_write": None, "reasoning": None,
                   "total": 1500},
        "cost": {"usd": 0.0125, "cents": 1.25, "source": "reported"},
        "usage_aggregated": False,
        "error": {"type": None, "message": "rate limited"},
        "attributes": attributes,
        "events": [{"name": "exception", "attributes": {}, "dropped_attributes_count": 0,
                    "time": "2026-09-21T14:13:22.000Z"}],
        "log_records": [],
    }  # fmt: skip
    assert nodes[1] == {
        "id": "execute_tool search", "type": "tool", "input": None, "output": None, "time": None,
        "status": "running", "span_id": announced.span_id.hex(), "parent_span_id": root.span_id.hex(), "depth": 1,
        "started_at": "2026-09-21T14:13:23.000Z", "ended_at": None, "duration_ms": None,
        "model": None, "tool": "search",
        "tokens": {"input": None, "output": None, "cache_read": None, "cache_write": None, "reasoning": None,
                   "total": None},
        "cost": {"usd": None, "cents": None, "source": None},
        "usage_aggregated": False, "error": None,
        "attributes": {"agentlog.span_type": "pending", "gen_ai.tool.name": "search"},
        "events": [],
        "log_records": [],
    }  # fmt: skip


@pytest.fixture(params=[MAX_LIMIT, 0], ids=["whole", "shape-then-pages"])
def read_whole_or_by_page(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Logs read a run whole, or its shape and then each page's documents."""
    monkeypatch.setattr(logs_module, "WHOLE_RUN_NODES", request.param)


@pytest.mark.usefixtures("read_whole_or_by_page")
def test_a_run_over_the_page_gets_the_same_documents_page_by_page(tmp_path: Path) -> None:
    database = Database.open(tmp_path / "logs.duckdb")
    root = make_span(name="invoke_agent", start=T0, duration=100 * SECOND)
    steps = [step(root, i, duration=SECOND) for i in range(7)]
    batch = span_rows(make_request([root, *steps]), LOCAL.tenant_id)
    commit_spans(database.cursor(), [batch], 1)
    run_id = root.trace_id.hex()

    whole = as_values(run_logs(database.cursor(), LOCAL, LogsQuery(run_id, limit=MAX_LIMIT)))
    paged: list[dict[str, object]] = []
    cursor = None
    while True:
        page = as_values(run_logs(database.cursor(), LOCAL, LogsQuery(run_id, limit=3, cursor=cursor)))
        paged.extend(page["nodes"])
        if (cursor := page["next_cursor"]) is None:
            break
    assert paged == whole["nodes"]
    assert [node["id"] for node in paged] == [f"step-{i}" for i in range(7)]


@pytest.mark.usefixtures("read_whole_or_by_page")
def test_a_marker_that_arrives_after_its_span_shows_nothing(tmp_path: Path) -> None:
    database = Database.open(tmp_path / "logs.duckdb")
    root = make_span(name="invoke_agent", start=T0, duration=100 * SECOND)
    finished = step(root, 0, duration=SECOND)
    late = make_span(trace_id=root.trace_id, span_id=finished.span_id, parent_span_id=root.span_id, name="step-0",
                     start=T0 + SECOND, duration=0, attributes={"agentlog.span_type": "pending"})  # fmt: skip
    for seq, spans in enumerate([[root, finished], [late]], start=1):
        commit_spans(database.cursor(), [span_rows(make_request(spans), LOCAL.tenant_id)], seq)

    logs = as_values(run_logs(database.cursor(), LOCAL, LogsQuery(root.trace_id.hex(), limit=1)))
    assert [(node["id"], node["status"]) for node in logs["nodes"]] == [("step-0", "failed")]
    assert logs["summary"]["total_nodes"] == 1
    assert logs["summary"]["running_nodes"] == 0
    assert logs["next_cursor"] is None
