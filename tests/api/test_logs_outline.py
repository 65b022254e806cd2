"""The logs' outline (``outline=true``: nodes without their contents, the waterfall's rows) and one node
whole (``span_id``: the detail of the row a user selects), over real HTTP on runs sent by the OTel SDK."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.sdk_runs import T0, Step, send_run
from tests.collector.test_grpc_receiver import export_raw
from tests.conftest import ServerHandle
from tests.factories import make_request, make_span, new_span_id, new_trace_id

OUTLINE_LEAVES_OUT = {"input", "output", "attributes", "events", "log_records"}
STEPS = [
    Step("planner"),
    Step("research", kind="tool", children=[Step("search", kind="tool"), Step("summarize")]),
    Step("writer", fail=True),
]


def logs(server: ServerHandle, **params: Any) -> dict[str, Any]:
    response = httpx.get(server.api_url + "/api/v1/agents/logs", params=params, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def running_run(server: ServerHandle) -> str:
    """A run whose root and two nodes are announced (live-status markers), one of them finished since."""
    trace_id, root_id, done_id = new_trace_id(), new_span_id(), new_span_id()
    pending = {"agentlog.span_type": "pending"}
    spans = [
        make_span(trace_id=trace_id, span_id=root_id, name="invoke_agent t", start=T0, duration=0,
                  attributes={**pending, "gen_ai.agent.name": "t"}),
        make_span(trace_id=trace_id, parent_span_id=root_id, name="execute_tool search", start=T0 + 1, duration=0,
                  attributes={**pending, "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search",
                              "gen_ai.tool.call.arguments": '{"q": "flaky"}'}),
        make_span(trace_id=trace_id, span_id=done_id, parent_span_id=root_id, name="chat", start=T0 + 2,
                  duration=0, attributes={**pending, "gen_ai.operation.name": "chat"}),
        make_span(trace_id=trace_id, span_id=done_id, parent_span_id=root_id, name="chat", start=T0 + 2,
                  duration=10**9, attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                                              "gen_ai.input.messages": '[{"role": "user"}]'}),
    ]  # fmt: skip
    export_raw(server.grpc_endpoint, make_request(spans).SerializeToString())
    return trace_id.hex()


@pytest.fixture
def run_ids(server: ServerHandle) -> list[str]:
    return [send_run(server.grpc_endpoint, steps=STEPS), running_run(server)]


def test_an_outline_is_each_node_less_its_contents(server: ServerHandle, run_ids: list[str]) -> None:
    for run_id in run_ids:
        whole = logs(server, run_id=run_id)
        outline = logs(server, run_id=run_id, outline="true")
        assert outline["nodes"] == [
            {name: value for name, value in node.items() if name not in OUTLINE_LEAVES_OUT} for node in whole["nodes"]
        ]
        assert {name: value for name, value in outline.items() if name != "nodes"} == {
            name: value for name, value in whole.items() if name != "nodes"
        }
        assert logs(server, run_id=run_id, outline="false") == whole
    failed = logs(server, run_id=run_ids[0], outline="true")["nodes"][-1]
    assert (failed["id"], failed["status"], failed["error"]["message"]) == ("writer", "failed", "writer broke")
    statuses = {node["id"]: node["status"] for node in logs(server, run_id=run_ids[1], outline="true")["nodes"]}
    assert statuses == {"execute_tool search": "running", "chat": "completed"}


def test_a_node_by_its_span_id_is_that_node_whole(server: ServerHandle, run_ids: list[str]) -> None:
    for run_id in run_ids:
        whole = logs(server, run_id=run_id)
        for node in whole["nodes"]:
            one = logs(server, run_id=run_id, span_id=node["span_id"].upper())
            assert one["nodes"] == [node]
            assert one["next_cursor"] is None
            assert {k: v for k, v in one.items() if k != "nodes"} == {k: v for k, v in whole.items() if k != "nodes"}
    writer = logs(server, run_id=run_ids[0])["nodes"][-1]
    assert writer["events"][0]["attributes"]["exception.message"] == "writer broke"


def test_an_outline_pages_as_the_logs_do_and_its_next_link_stays_an_outline(server: ServerHandle) -> None:
    run_id = send_run(server.grpc_endpoint, steps=[Step(f"step-{i:03d}", seconds=0.01) for i in range(120)])
    seen: list[str] = []
    params: dict[str, Any] = {"run_id": run_id, "limit": 50, "outline": "true"}
    while True:
        response = httpx.get(server.api_url + "/api/v1/agents/logs", params=params, timeout=10)
        page = response.json()
        assert all(not node.keys() & OUTLINE_LEAVES_OUT for node in page["nodes"])
        seen.extend(node["id"] for node in page["nodes"])
        if page["next_cursor"] is None:
            break
        assert "outline=true" in response.headers["Link"]
        params = {"run_id": run_id, "limit": 50, "outline": "true", "cursor": page["next_cursor"]}
    assert seen == [f"step-{i:03d}" for i in range(120)]


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"span_id": "0123456789abcdef"}, 404, "has no node with span_id '0123456789abcdef'"),
        ({"span_id": "0123"}, 400, "span_id must be 16 hexadecimal digits (a span id); got '0123'"),
        ({"span_id": "0123456789abcdeg"}, 400, "span_id must be 16 hexadecimal digits"),
        ({"outline": "yes"}, 400, "outline must be one of true, false; got 'yes'"),
    ],
)
def test_a_bad_span_id_or_outline_is_named(
    server: ServerHandle, run_ids: list[str], params: dict[str, str], status: int, message: str
) -> None:
    response = httpx.get(server.api_url + "/api/v1/agents/logs", params={"run_id": run_ids[0], **params}, timeout=10)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]


def test_the_root_span_is_the_run_not_a_node(server: ServerHandle) -> None:
    run_id = send_run(server.grpc_endpoint, steps=[Step("planner")])
    planner = logs(server, run_id=run_id)["nodes"][0]
    root_span_id = planner["parent_span_id"]
    response = httpx.get(
        server.api_url + "/api/v1/agents/logs", params={"run_id": run_id, "span_id": root_span_id}, timeout=10
    )
    assert response.status_code == 404
