"""run_logs on a real DuckDB file: the errors come with the run's shape, in the order they failed."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentlog.proto import decode_spans
from agentlog.query.logs import MAX_ERRORS, LogsQuery, run_logs
from agentlog.query.scope import LOCAL
from agentlog.store import Database, commit_spans, to_arrow
from tests.factories import make_request, make_span

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
    batch = to_arrow(decode_spans(make_request([root, *steps, fine, running])), LOCAL.tenant_id)
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
