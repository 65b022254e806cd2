"""The history, logs, stats and metrics endpoints over real HTTP, on runs sent by the real OTel SDK."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.api.sdk_runs import SECOND, T0, Step, send_run
from tests.collector.test_grpc_receiver import export_raw
from tests.conftest import ServerHandle
from tests.factories import make_request, make_span, new_span_id, new_trace_id

ESSENTIAL_HISTORY_FIELDS = {
    "run_id",
    "status",
    "started_at",
    "duration",
    "input",
    "output",
    "node_count",
    "tokens_used",
    "cost_cents",
}
ESSENTIAL_NODE_FIELDS = {"id", "type", "input", "output", "time", "status"}
ESSENTIAL_SUMMARY_FIELDS = {"total_nodes", "successful_nodes", "failed_nodes", "total_duration"}


def get(server: ServerHandle, path: str, **params: Any) -> httpx.Response:
    return httpx.get(server.api_url + path, params=params, timeout=10)


def history(server: ServerHandle, **params: Any) -> list[dict[str, Any]]:
    response = get(server, "/api/v1/agents/history", **params)
    assert response.status_code == 200, response.text
    runs: list[dict[str, Any]] = response.json()
    return runs


def test_history_item_has_every_essential_field_right(server: ServerHandle) -> None:
    run_id = send_run(server.grpc_endpoint)
    (run,) = history(server)
    assert run.keys() >= ESSENTIAL_HISTORY_FIELDS
    assert run["run_id"] == run_id and re.fullmatch(r"[0-9a-f]{32}", run_id)
    assert run["status"] == "success"
    assert run["started_at"] == "2025-11-23T12:13:20.000Z"
    # root: 0.1 s lead-in, planner 1 s, search 1 s, writer 1 s, 0.1 s tail
    assert (run["duration"], run["duration_ms"]) == ("3.2s", 3200.0)
    assert (run["input"], run["output"]) == ("Process PR #42", "No issues found")
    assert run["node_count"] == 3
    assert run["tokens_used"] == 240  # two llm steps of 100 in + 20 out
    # gpt-4o: $2.50 / M input, $10 / M output -> 200 * 2.5e-6 + 40 * 1e-5 = $0.0009 = 0.09 cents
    assert run["cost_cents"] == pytest.approx(0.09)
    assert run["cost_usd"] == pytest.approx(0.0009)
    assert (run["agent_id"], run["user_id"], run["session_id"]) == ("bug-triager", "alice", "s-1")
    assert run["ended_at"] == "2025-11-23T12:13:23.200Z"
    assert run["tokens"] == {
        "input": 200,
        "output": 40,
        "cache_read": 0,
        "cache_write": 0,
        "reasoning": 0,
        "total": 240,
    }
    assert run["error"] is None


def test_history_is_newest_first_and_filters(server: ServerHandle) -> None:
    a = send_run(server.grpc_endpoint, agent="bug-triager", user="alice", session="s-1", start=T0)
    b = send_run(server.grpc_endpoint, agent="bug-triager", user="bob", session="s-2", start=T0 + 60 * SECOND,
                 steps=[Step("planner", fail=True)])  # fmt: skip
    c = send_run(server.grpc_endpoint, agent="summarizer", user="alice", session="s-3", start=T0 + 120 * SECOND)
    assert [r["run_id"] for r in history(server)] == [c, b, a]
    assert [r["run_id"] for r in history(server, agent_id="bug-triager")] == [b, a]
    assert [r["run_id"] for r in history(server, user_id="alice")] == [c, a]
    assert [r["run_id"] for r in history(server, session_id="s-2")] == [b]
    assert [r["run_id"] for r in history(server, status="failed")] == [b]
    assert [r["run_id"] for r in history(server, status="success")] == [c, a]
    assert [r["run_id"] for r in history(server, since="2025-11-23T12:14:20Z")] == [c, b]
    assert [r["run_id"] for r in history(server, until="2025-11-23T12:14:20Z")] == [a]
    assert [r["run_id"] for r in history(server, since="2025-11-23T12:14:00+00:00", until="2025-11-23T12:15:00")] == [b]
    assert history(server, agent_id="nobody") == []
    failed = history(server, status="failed")[0]
    assert failed["error"] == {"node": "planner", "type": "RuntimeError", "message": "planner broke"}


def test_skip_limit_and_a_stable_cursor_while_new_runs_arrive(server: ServerHandle) -> None:
    ids = [send_run(server.grpc_endpoint, start=T0 + i * SECOND, steps=[]) for i in range(7)]
    newest_first = ids[::-1]
    assert [r["run_id"] for r in history(server, skip=2, limit=3)] == newest_first[2:5]

    first = get(server, "/api/v1/agents/history", limit=3)
    assert [r["run_id"] for r in first.json()] == newest_first[:3]
    cursor = first.headers["X-Next-Cursor"]
    assert 'rel="next"' in first.headers["Link"]
    # New runs arrive between pages; the cursor's next page does not shift.
    for i in range(3):
        send_run(server.grpc_endpoint, start=T0 + (100 + i) * SECOND, steps=[])
    second = get(server, "/api/v1/agents/history", limit=3, cursor=cursor)
    assert [r["run_id"] for r in second.json()] == newest_first[3:6]
    link = second.headers["Link"]
    third = httpx.get(link[1 : link.index(">")], timeout=10)  # follow the Link header as a client would
    assert [r["run_id"] for r in third.json()] == newest_first[6:]
    assert "X-Next-Cursor" not in third.headers


def test_logs_in_the_documented_shape_and_tree_order(server: ServerHandle) -> None:
    steps = [
        Step("planner"),
        Step("research", kind="tool", children=[Step("search", kind="tool"), Step("summarize")]),
        Step("writer", fail=True),
    ]
    run_id = send_run(server.grpc_endpoint, steps=steps)
    response = get(server, "/api/v1/agents/logs", run_id=run_id)
    assert response.status_code == 200
    logs = response.json()
    assert {"run_id", "nodes", "errors", "final_output", "summary"} <= logs.keys()
    assert logs["run_id"] == run_id
    assert [(n["id"], n["depth"]) for n in logs["nodes"]] == [
        ("planner", 1), ("research", 1), ("search", 2), ("summarize", 2), ("writer", 1),
    ]  # fmt: skip
    for node in logs["nodes"]:
        assert node.keys() >= ESSENTIAL_NODE_FIELDS
    planner = logs["nodes"][0]
    assert (planner["type"], planner["time"], planner["status"], planner["model"]) == (
        "llm",
        "1s",
        "completed",
        "gpt-4o",
    )
    assert planner["tokens"]["total"] == 120
    assert planner["attributes"]["gen_ai.usage.input_tokens"] == 100
    research = logs["nodes"][1]
    assert (research["type"], research["tool"]) == ("tool", "research")
    assert logs["nodes"][2]["parent_span_id"] == research["span_id"]
    writer = logs["nodes"][4]
    assert writer["status"] == "failed"
    assert writer["events"][0]["name"] == "exception"
    assert writer["events"][0]["attributes"]["exception.message"] == "writer broke"
    assert [(e["node"], e["message"]) for e in logs["errors"]] == [("writer", "writer broke")]
    assert logs["final_output"] == "No issues found"
    assert logs["summary"].keys() >= ESSENTIAL_SUMMARY_FIELDS
    assert logs["summary"]["total_nodes"] == 5
    assert (logs["summary"]["successful_nodes"], logs["summary"]["failed_nodes"]) == (4, 1)
    assert logs["status"] == "failed"  # it ended on a failed step
    assert logs["summary"]["total_duration"] == "4.2s"


def test_a_run_with_no_known_cost_shows_its_cost_as_unknown_never_zero(server: ServerHandle) -> None:
    tools_only = send_run(server.grpc_endpoint, steps=[Step("search", kind="tool"), Step("read_file", kind="tool")])
    priced = send_run(server.grpc_endpoint, start=T0 + 10 * SECOND, steps=[Step("planner")])
    runs = {run["run_id"]: run for run in history(server)}
    assert [(runs[tools_only][key]) for key in ("cost_cents", "cost_usd", "cost_source", "tokens_used")] == [
        None, None, None, 0,
    ]  # fmt: skip
    assert (runs[priced]["cost_source"], runs[priced]["cost_usd"]) == ("computed", pytest.approx(0.00045))
    summary = get(server, "/api/v1/agents/logs", run_id=tools_only).json()["summary"]
    assert (summary["cost_cents"], summary["cost_usd"], summary["cost_source"]) == (None, None, None)


def test_a_big_run_is_served_page_by_page(server: ServerHandle) -> None:
    run_id = send_run(server.grpc_endpoint, steps=[Step(f"step-{i:03d}", seconds=0.01) for i in range(120)])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"run_id": run_id, "limit": 50}
        if cursor:
            params["cursor"] = cursor
        page = get(server, "/api/v1/agents/logs", **params).json()
        assert len(page["nodes"]) <= 50
        seen.extend(node["id"] for node in page["nodes"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"step-{i:03d}" for i in range(120)]


def test_unknown_run_is_404(server: ServerHandle) -> None:
    response = get(server, "/api/v1/agents/logs", run_id="0123456789abcdef0123456789abcdef")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "params", "mentions"),
    [
        ("history", {"status": "done"}, "status"),
        ("history", {"limit": "501"}, "limit"),
        ("history", {"limit": "0"}, "limit"),
        ("history", {"limit": "ten"}, "limit"),
        ("history", {"skip": "-1"}, "skip"),
        ("history", {"cursor": "not-a-cursor"}, "cursor"),
        ("history", {"cursor": "eyJrIjoibG9ncyIsIm8iOjV9"}, "cursor"),  # a logs cursor
        ("history", {"since": "yesterday"}, "since"),
        ("history", {"until": "2025-13-45"}, "until"),
        ("history", {"agent_id": "x" * 600}, "agent_id"),
        ("logs", {}, "run_id"),
        ("logs", {"run_id": "run-82923a"}, "run_id"),
        ("logs", {"run_id": "0123456789abcdef0123456789abcdef", "cursor": "@@@"}, "cursor"),
        ("logs", {"run_id": "0123456789abcdef0123456789abcdef", "limit": "100000"}, "limit"),
        ("stats", {"days": "0"}, "days"),
        ("stats", {"days": "many"}, "days"),
        ("metrics", {"days": "99999"}, "days"),
    ],
)
def test_bad_parameters_are_400_with_a_message(
    server: ServerHandle, path: str, params: dict[str, str], mentions: str
) -> None:
    response = get(server, f"/api/v1/agents/{path}", **params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"]["code"] == "invalid_request"
    assert mentions in body["error"]["message"]


def test_unknown_paths_and_methods_are_json_errors(server: ServerHandle) -> None:
    response = get(server, "/api/v1/agents/nothing")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    response = httpx.post(server.api_url + "/api/v1/agents/history", timeout=10)
    assert (response.status_code, response.json()["error"]["code"]) == (405, "method_not_allowed")


def _recent(offset_seconds: int) -> int:
    return int(datetime.now(tz=UTC).timestamp() - offset_seconds) * SECOND


def test_stats_per_user_and_day(server: ServerHandle) -> None:
    send_run(server.grpc_endpoint, user="alice", start=_recent(3600))
    send_run(server.grpc_endpoint, user="alice", start=_recent(2 * 86400), steps=[Step("planner", fail=True)])
    send_run(server.grpc_endpoint, user="bob", start=_recent(1800))
    send_run(server.grpc_endpoint, user="alice", start=_recent(40 * 86400))  # outside 30 days
    stats = get(server, "/api/v1/agents/stats", user_id="alice", days=30).json()
    assert (stats["runs"], stats["successful_runs"], stats["failed_runs"]) == (2, 1, 1)
    assert stats["success_rate"] == 0.5
    assert stats["avg_duration_ms"] == pytest.approx((3200 + 1200) / 2)
    assert stats["p95_duration_ms"] == pytest.approx(3200 - 0.05 * 2000)
    assert stats["tokens"]["total"] == 240 + 120
    assert len(stats["per_day"]) == 2 and sum(day["runs"] for day in stats["per_day"]) == 2
    everyone = get(server, "/api/v1/agents/stats", days=60).json()
    assert everyone["runs"] == 4


def test_metrics_per_agent(server: ServerHandle) -> None:
    send_run(server.grpc_endpoint, agent="triager", start=_recent(600))
    send_run(server.grpc_endpoint, agent="triager", start=_recent(500),
             steps=[Step("planner"), Step("search", kind="tool", fail=True)], fail_root=True)  # fmt: skip
    send_run(server.grpc_endpoint, agent="writer", start=_recent(400))
    metrics = get(server, "/api/v1/agents/metrics", agent_id="triager").json()
    (triager,) = metrics["agents"]
    assert (triager["agent_id"], triager["runs"], triager["failed_runs"]) == ("triager", 2, 1)
    assert triager["error_rate"] == 0.5
    assert triager["duration_ms"]["p50"] == pytest.approx((3200 + 2200) / 2, rel=0.02)  # from histograms: within 2 %
    assert triager["tokens_per_run"] == pytest.approx((240 + 120) / 2)
    by_type = {row["name"]: row for row in triager["by_node_type"]}
    assert (by_type["llm"]["calls"], by_type["tool"]["calls"], by_type["tool"]["errors"]) == (3, 2, 1)
    (gpt,) = triager["by_model"]
    assert (gpt["name"], gpt["calls"], gpt["input_tokens"]) == ("gpt-4o", 3, 300)
    (search,) = triager["tools"]
    assert (search["name"], search["calls"], search["errors"], search["error_rate"]) == ("search", 2, 1, 0.5)
    assert {a["agent_id"] for a in get(server, "/api/v1/agents/metrics").json()["agents"]} == {"triager", "writer"}
    assert get(server, "/api/v1/agents/metrics", flow_id="writer").json()["agents"][0]["agent_id"] == "writer"


def test_openapi_and_healthz(server: ServerHandle) -> None:
    schema = get(server, "/openapi.json").json()
    assert {"/api/v1/agents/history", "/api/v1/agents/logs", "/api/v1/agents/stats", "/api/v1/agents/metrics",
            "/healthz"} <= schema["paths"].keys()  # fmt: skip
    assert get(server, "/healthz").json()["status"] == "ok"
    page = get(server, "/")
    assert page.status_code == 200 and "agentlog" in page.text


def test_a_running_node_shows_its_input_model_and_tool(server: ServerHandle) -> None:
    trace_id, root_id = new_trace_id(), new_span_id()
    pending = {"agentlog.span_type": "pending"}
    root = make_span(trace_id=trace_id, span_id=root_id, name="invoke_agent t", start=T0, duration=0,
                     attributes={**pending, "gen_ai.agent.name": "t"})  # fmt: skip
    tool = make_span(trace_id=trace_id, parent_span_id=root_id, name="execute_tool search", start=T0 + 1, duration=0,
                     attributes={**pending, "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search",
                                 "gen_ai.tool.call.arguments": '{"q": "flaky test"}'})  # fmt: skip
    chat = make_span(trace_id=trace_id, parent_span_id=root_id, name="chat", start=T0 + 2, duration=0,
                     attributes={**pending, "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                                 "gen_ai.input.messages": '[{"role": "user"}]'})  # fmt: skip
    export_raw(server.grpc_endpoint, make_request([root, tool, chat]).SerializeToString())
    logs = get(server, "/api/v1/agents/logs", run_id=trace_id.hex()).json()
    assert logs["status"] == "running"
    nodes = {node["id"]: node for node in logs["nodes"]}
    assert set(nodes) == {"execute_tool search", "chat"}
    assert (nodes["execute_tool search"]["status"], nodes["execute_tool search"]["tool"]) == ("running", "search")
    assert nodes["execute_tool search"]["input"] == '{"q": "flaky test"}'
    assert (nodes["chat"]["model"], nodes["chat"]["input"]) == ("gpt-4o", '[{"role": "user"}]')


def test_runs_whose_ids_differ_only_in_the_low_bits_stay_apart(server: ServerHandle) -> None:
    # Bound as a plain integer, a trace id this size would be compared as a DOUBLE (53 bits):
    # these two ids would then be equal. bench/query found it; every trace id parameter is cast.
    first, second = bytes.fromhex("6167656e746c6f670000000100000006"), bytes.fromhex("6167656e746c6f670000000100000011")
    for trace_id, name in ((first, "first-step"), (second, "second-step")):
        root = make_span(trace_id=trace_id, name=f"invoke_agent {name}", start=T0)
        step = make_span(trace_id=trace_id, parent_span_id=root.span_id, name=name, start=T0 + 1)
        export_raw(server.grpc_endpoint, make_request([root, step]).SerializeToString())
    for trace_id, name in ((first, "first-step"), (second, "second-step")):
        logs = get(server, "/api/v1/agents/logs", run_id=trace_id.hex()).json()
        assert (logs["run_id"], [node["id"] for node in logs["nodes"]]) == (trace_id.hex(), [name])
    assert get(server, "/api/v1/agents/logs", run_id=first.hex()[:30]).status_code == 400  # prefix of both: ambiguous
    history = get(server, "/api/v1/agents/history", since="1900-01-01").json()
    assert {run["run_id"] for run in history} == {first.hex(), second.hex()}
