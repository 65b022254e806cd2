"""WS /api/v1/agents/live over a real WebSocket: runs going running -> success, and resuming by cursor."""

from __future__ import annotations

import json
import re
import signal
import socket
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from tests.api.sdk_runs import T0, send_run
from tests.collector.test_grpc_receiver import export_raw
from tests.conftest import ServerHandle
from tests.factories import make_request, make_span, new_span_id, new_trace_id
from tests.test_server import ServerProcess

TIMEOUT = 10


def live(server: ServerHandle, **params: str) -> ClientConnection:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return connect(f"ws://127.0.0.1:{server.running.api_port}/api/v1/agents/live?{query}", open_timeout=TIMEOUT)


def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(ws.recv(timeout=TIMEOUT))
    return message


def events_until(ws: ClientConnection, wanted: str, run_id: str) -> tuple[list[dict[str, Any]], str]:
    """Collect events until ``wanted`` arrives for ``run_id``; returns them and the last cursor."""
    seen: list[dict[str, Any]] = []
    while True:
        message = receive(ws)
        seen.extend(message["events"])
        if any(e["type"] == wanted and e["run_id"] == run_id for e in message["events"]):
            return seen, message["cursor"]


def test_a_run_goes_running_then_success(server: ServerHandle) -> None:
    with live(server) as ws:
        hello = receive(ws)
        assert hello["events"] == []
        trace_id, span_id = new_trace_id(), new_span_id()
        run_id = trace_id.hex()
        # agentlog's pending marker for the root: the run has started, not finished.
        marker = make_span(trace_id=trace_id, span_id=span_id, name="invoke_agent triager", start=T0, duration=0,
                           attributes={"agentlog.span_type": "pending", "gen_ai.agent.name": "triager",
                                       "input.value": "triage #7"})  # fmt: skip
        export_raw(server.grpc_endpoint, make_request([marker]).SerializeToString())
        started, _ = events_until(ws, "run.started", run_id)
        run = next(e["run"] for e in started if e["type"] == "run.started")
        assert (run["status"], run["agent_id"], run["input"]) == ("running", "triager", "triage #7")

        child = make_span(trace_id=trace_id, parent_span_id=span_id, name="planner", start=T0 + 1,
                          attributes={"gen_ai.operation.name": "chat"})  # fmt: skip
        root = make_span(trace_id=trace_id, span_id=span_id, name="invoke_agent triager", start=T0,
                         duration=5_000_000_000, attributes={"gen_ai.agent.name": "triager"})  # fmt: skip
        export_raw(server.grpc_endpoint, make_request([child]).SerializeToString())
        export_raw(server.grpc_endpoint, make_request([root]).SerializeToString())
        finished, _ = events_until(ws, "run.finished", run_id)
        types = [e["type"] for e in finished if e["run_id"] == run_id]
        assert "node.finished" in types
        node = next(e["node"] for e in finished if e["type"] == "node.finished")
        assert (node["id"], node["status"], node["type"]) == ("planner", "completed", "llm")
        done = next(e["run"] for e in finished if e["type"] == "run.finished")
        assert (done["status"], done["node_count"], done["duration"]) == ("success", 1, "5s")


def test_reconnecting_with_the_last_cursor_misses_nothing(server: ServerHandle) -> None:
    first = send_run(server.grpc_endpoint, agent="a")
    with live(server) as ws:
        cursor = receive(ws)["cursor"]
    missed = [send_run(server.grpc_endpoint, agent="b", start=T0 + i) for i in range(3)]
    with live(server, cursor=cursor) as ws:
        message = receive(ws)  # the greeting repeats the cursor
        assert message["cursor"] == cursor
        seen: list[dict[str, Any]] = []
        while {e["run_id"] for e in seen if e["type"] == "run.finished"} != set(missed):
            seen.extend(receive(ws)["events"])
    assert first not in {e["run_id"] for e in seen}
    assert [e["type"] for e in seen if e["run_id"] == missed[0]] == [
        "run.started", "node.finished", "node.finished", "node.finished", "run.finished",
    ]  # fmt: skip


def test_filters_and_bad_parameters(server: ServerHandle) -> None:
    with live(server, agent_id="wanted") as ws:
        receive(ws)
        send_run(server.grpc_endpoint, agent="unwanted")
        wanted = send_run(server.grpc_endpoint, agent="wanted")
        seen, _ = events_until(ws, "run.finished", wanted)
        assert {e["run_id"] for e in seen} == {wanted}
    with live(server, cursor="abc") as ws:
        message = receive(ws)
        assert message["error"]["code"] == "invalid_request"


def test_clients_that_leave_leave_no_traceback(tmp_path: Path) -> None:
    """Closing normally (before or after the greeting), being refused, or dropping the connection:
    none of it is an error of the server's, so its log stays clean."""
    with ServerProcess.start(tmp_path / "agentlog.duckdb") as server:
        port = next(
            int(m.group(1))
            for line in server.stdout
            if (m := re.search(r"web page on http://127\.0\.0\.1:(\d+)/", line))
        )
        url = f"ws://127.0.0.1:{port}/api/v1/agents/live"
        for _ in range(3):
            with connect(url, open_timeout=TIMEOUT) as ws:
                assert json.loads(ws.recv(timeout=TIMEOUT))["events"] == []
            with connect(url, open_timeout=TIMEOUT):
                pass  # gone before reading the greeting
            with connect(url + "?cursor=abc", open_timeout=TIMEOUT) as ws:
                assert json.loads(ws.recv(timeout=TIMEOUT))["error"]["code"] == "invalid_request"
            with connect(url, open_timeout=TIMEOUT) as ws:
                ws.recv(timeout=TIMEOUT)
                ws.socket.shutdown(socket.SHUT_RDWR)  # no close frame: the connection just ends
        assert server.stop(signal.SIGINT) == 0
    output = server.output()
    assert "Traceback" not in output, output
    assert "ERROR" not in output, output
