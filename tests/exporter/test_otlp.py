"""The exporter against a real ``agentlog serve``: OTLP/gRPC and OTLP/HTTP, live status, other instrumentations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace

import agentlog
from agentlog.store import Database
from agentlog.store.keys import create_key
from tests.conftest import ServerHandle, start_server
from tests.exporter.agents import FAST_EXPORT_MS, expected_triage_cost, triage

Transport = Callable[[ServerHandle], dict[str, Any]]


def grpc(server: ServerHandle) -> dict[str, Any]:
    return {"protocol": "grpc", "endpoint": server.grpc_endpoint}


def http(server: ServerHandle) -> dict[str, Any]:
    return {"protocol": "http/protobuf", "endpoint": f"http://127.0.0.1:{server.running.http_port}"}


def to_server(server: ServerHandle, transport: Transport = grpc, **options: Any) -> agentlog.Pipeline:
    return agentlog.configure(
        service_name="triage-service", schedule_delay_ms=FAST_EXPORT_MS, environ={}, **transport(server), **options
    )


def api(server: ServerHandle, path: str, **params: Any) -> Any:
    response = httpx.get(f"{server.api_url}/api/v1/agents/{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("transport", [grpc, http], ids=["grpc", "http"])
def test_runs_reach_the_collector_with_nodes_tokens_cost_and_status(server: ServerHandle, transport: Transport) -> None:
    pipeline = to_server(server, transport)
    ok = triage("Login page returns 500", user="alice")
    recovered = triage("Password reset mail never arrives", user="bob", search_fails_once=True)
    with pytest.raises(RuntimeError):
        triage("Sessions expire after 5 minutes", crash=True)
    assert pipeline.force_flush(timeout_s=10)
    assert pipeline.counts().lost == 0

    rows = server.query(
        "SELECT run_id, status, agent, service_name, node_count, failed_nodes, total_tokens, cost_usd, started_ns "
        "FROM run_summaries ORDER BY started_ns"
    )
    assert [(r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows] == [
        ("success", "bug-triager", "triage-service", 3, 0, 3400),
        ("success", "bug-triager", "triage-service", 4, 1, 3400),
        ("failed", "bug-triager", "triage-service", 3, 1, 3400),
    ]
    assert [r[0] for r in rows[:2]] == [ok, recovered]
    assert all(r[7] == expected_triage_cost(r[8]) for r in rows)

    history = {run["run_id"]: run for run in api(server, "history")}
    assert history[ok]["tokens_used"] == 3400
    assert history[ok]["cost_usd"] == pytest.approx(float(expected_triage_cost(rows[0][8])))
    assert (history[ok]["user_id"], history[recovered]["user_id"]) == ("alice", "bob")
    logs = api(server, "logs", run_id=recovered)
    assert [(n["id"], n["type"], n["status"], n["depth"]) for n in logs["nodes"]] == [
        ("planner", "llm", "completed", 1),
        ("search", "tool", "failed", 1),
        ("search", "tool", "completed", 1),
        ("writer", "llm", "completed", 1),
    ]
    assert logs["errors"][0]["node"] == "search"
    assert logs["final_output"] == "No issues found"


def test_a_run_shows_as_running_before_it_ends(server: ServerHandle) -> None:
    pipeline = to_server(server)
    with (
        agentlog.run("bug-triager", input="Is the build green?") as run,
        run.node("planner", type="llm", model="gpt-4o") as node,
    ):
        assert pipeline.force_flush(timeout_s=10)  # markers only: nothing has ended yet
        assert server.query("SELECT count(*) FROM stored_spans") == [(0,)]
        (live,) = api(server, "history")
        assert (live["run_id"], live["status"], live["input"]) == (run.run_id, "running", "Is the build green?")
        logs = api(server, "logs", run_id=run.run_id)
        assert [(n["id"], n["status"], n["type"]) for n in logs["nodes"]] == [("planner", "running", "llm")]
        node.record_usage(input_tokens=100, output_tokens=10)
    assert pipeline.force_flush(timeout_s=10)
    (done,) = api(server, "history")
    assert (done["status"], done["node_count"], done["tokens_used"]) == ("success", 1, 110)
    assert server.query("SELECT count(*) FROM pending_spans") == [(0,)]


def test_a_running_root_is_the_run_not_one_of_its_nodes(server: ServerHandle) -> None:
    pipeline = to_server(server)
    with agentlog.run("bug-triager") as run, run.node("planner", type="llm"):
        assert pipeline.force_flush(timeout_s=10)
        logs = api(server, "logs", run_id=run.run_id)
        assert [n["id"] for n in logs["nodes"]] == ["planner"]


def test_markers_can_be_turned_off(server: ServerHandle) -> None:
    pipeline = to_server(server, pending_spans=False)
    with agentlog.run("bug-triager"):
        assert pipeline.force_flush(timeout_s=10)
        assert api(server, "history") == []
    assert pipeline.force_flush(timeout_s=10)
    assert [run["status"] for run in api(server, "history")] == ["success"]


def test_spans_of_other_instrumentations_nest_under_agentlog_nodes(server: ServerHandle) -> None:
    # As the OpenAI instrumentation or pydantic-ai do: a tracer from the global provider,
    # taken once (here before configure(); the global provider follows each configure()).
    instrumentation = trace.get_tracer("opentelemetry.instrumentation.openai")
    pipeline = to_server(server)
    with (
        agentlog.run("bug-triager") as run,
        run.node("planner", type="llm", model="gpt-4o") as node,
        instrumentation.start_as_current_span("chat gpt-4o") as chat,
    ):
        chat.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                             "gen_ai.usage.input_tokens": 700, "gen_ai.usage.output_tokens": 70})  # fmt: skip
    assert pipeline.force_flush(timeout_s=10)
    logs = api(server, "logs", run_id=run.run_id)
    assert [(n["id"], n["depth"], n["parent_span_id"]) for n in logs["nodes"]] == [
        ("planner", 1, run.span_id),
        ("chat gpt-4o", 2, node.span_id),
    ]
    assert logs["summary"]["tokens"]["total"] == 770


def test_configure_again_replaces_the_pipeline_and_the_global_provider_follows(server: ServerHandle) -> None:
    instrumentation = trace.get_tracer("some.instrumentation")
    first = agentlog.configure(database=":memory:", schedule_delay_ms=FAST_EXPORT_MS, environ={})
    with instrumentation.start_as_current_span("before"):
        pass
    assert first.force_flush(timeout_s=10)
    assert first.database is not None
    cursor = first.database.cursor()
    assert cursor.execute("SELECT name FROM spans").fetchall() == [("before",)]
    cursor.close()

    second = to_server(server)
    assert agentlog.current_pipeline() is second
    with instrumentation.start_as_current_span("after"):
        pass
    assert second.force_flush(timeout_s=10)
    assert server.query("SELECT name FROM spans") == [("after",)]

    second.shutdown()
    assert agentlog.current_pipeline() is None
    with agentlog.run("nobody-listens"), instrumentation.start_as_current_span("ignored"):
        pass  # no pipeline: spans are no-ops, nothing raises
    assert server.query("SELECT name FROM spans") == [("after",)]


def test_the_api_key_goes_out_as_a_bearer_token_and_picks_the_tenant(tmp_path: Path) -> None:
    database = Database.open(tmp_path / "keys.duckdb")
    cursor = database.cursor()
    key, _ = create_key(cursor, "acme", "ingest")
    database.close()
    server = start_server(db=str(tmp_path / "keys.duckdb"))
    try:
        keyless = to_server(server)
        triage("Login page returns 500")
        assert keyless.force_flush(timeout_s=10)
        assert keyless.counts().failed > 0  # refused: this collector wants a key
        keyless.shutdown()

        pipeline = to_server(server, api_key=key, headers={"X-Team": "triage"})
        assert dict(pipeline.settings.headers or ()) == {"authorization": f"Bearer {key}", "x-team": "triage"}
        triage("Login page returns 500")
        assert pipeline.force_flush(timeout_s=10)
        assert pipeline.counts().lost == 0
        assert server.query("SELECT tenant_id, agent FROM run_summaries") == [("acme", "bug-triager")]
    finally:
        server.stop()
