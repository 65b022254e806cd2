"""``agentlog serve --conventions FILE``: an organisation's own keys fill the canonical columns at ingest,
over gRPC and HTTP, decoded in the server's thread or in worker processes; a bad file stops the start."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.trace import set_span_in_context

from tests.api.sdk_runs import SECOND, T0, sdk_tracer
from tests.conftest import ServerHandle, start_server
from tests.test_server import agentlog_command, child_env

ACME = """
[columns]
user_id = ["acme.customer_id"]
agent_name = "acme.flow"
session_id = "acme.conversation"
input = "acme.request"
output = "acme.answer"
model = "acme.llm"
input_tokens = "acme.tokens.in"
output_tokens = "acme.tokens.out"

[node_types."acme.step"]
flow = "agent"
model_call = "llm"
lookup = "tool"
"""


def send_acme_run(endpoint: str) -> str:
    """A run as an organisation's own instrumentation records it: no key agentlog knows."""
    with sdk_tracer(endpoint) as tracer:
        root = tracer.start_span(
            "handle ticket",
            start_time=T0,
            attributes={"acme.step": "flow", "acme.flow": "refunds", "acme.customer_id": "c-42",
                        "acme.conversation": "conv-7", "acme.request": "Refund order 1", "acme.answer": "Done",
                        "acme.team": "billing"},
        )  # fmt: skip
        call = tracer.start_span(
            "ask model",
            context=set_span_in_context(root),
            start_time=T0 + 1,
            attributes={"acme.step": "MODEL_CALL", "acme.llm": "gpt-4o", "acme.tokens.in": 1000,
                        "acme.tokens.out": "50"},
        )  # fmt: skip
        call.end(end_time=T0 + SECOND)
        lookup = tracer.start_span("orders.get", context=set_span_in_context(root), start_time=T0 + SECOND,
                                   attributes={"acme.step": "lookup"})  # fmt: skip
        lookup.end(end_time=T0 + 2 * SECOND)
        root.end(end_time=T0 + 3 * SECOND)
        return f"{root.get_span_context().trace_id:032x}"


@pytest.fixture(params=[0, 1], ids=["decode-thread", "decode-worker"])
def acme_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerHandle]:
    conventions = tmp_path / "acme.toml"
    conventions.write_text(ACME)
    server = start_server(db=str(tmp_path / "a.duckdb"), conventions=str(conventions), decode_workers=request.param)
    try:
        yield server
    finally:
        server.stop()


def test_an_organisations_keys_fill_history_and_logs(acme_server: ServerHandle) -> None:
    run_id = send_acme_run(acme_server.grpc_endpoint)
    history = httpx.get(f"{acme_server.api_url}/api/v1/agents/history", params={"user_id": "c-42"}).json()
    (run,) = history
    assert run["run_id"] == run_id
    assert (run["agent_id"], run["user_id"], run["session_id"]) == ("refunds", "c-42", "conv-7")
    assert (run["input"], run["output"]) == ("Refund order 1", "Done")
    logs = httpx.get(f"{acme_server.api_url}/api/v1/agents/logs", params={"run_id": run_id}).json()
    nodes = {node["id"]: node for node in logs["nodes"]}
    assert nodes["ask model"]["type"] == "llm"
    assert nodes["ask model"]["model"] == "gpt-4o"
    assert (nodes["ask model"]["tokens"]["input"], nodes["ask model"]["tokens"]["output"]) == (1000, 50)
    assert nodes["ask model"]["cost"]["source"] == "computed"
    assert nodes["orders.get"]["type"] == "tool"


def test_without_the_file_the_same_run_has_none_of_it(tmp_path: Path) -> None:
    server = start_server(db=str(tmp_path / "plain.duckdb"))
    try:
        run_id = send_acme_run(server.grpc_endpoint)
        logs = httpx.get(f"{server.api_url}/api/v1/agents/logs", params={"run_id": run_id}).json()
        assert {node["type"] for node in logs["nodes"]} == {"span"}
        assert logs["agent_id"] != "refunds"
    finally:
        server.stop()


def test_serve_refuses_a_file_that_cannot_apply_before_creating_anything(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[node_types."acme.step"]\nflow = "workflow"\n')
    db = tmp_path / "never.duckdb"
    result = subprocess.run(
        agentlog_command("serve", "--db", str(db), "--conventions", str(bad), "--grpc-port", "0", "--http-port", "0",
                         "--api-port", "0"),
        capture_output=True, text=True, env=child_env(), cwd=tmp_path, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"agentlog: conventions file {bad}: " in result.stderr
    assert "'workflow' is not a node type; known: agent, llm, tool" in result.stderr
    assert not db.exists()


def test_after_the_conventions_change_the_stored_runs_are_read_again(tmp_path: Path) -> None:
    """Stored by the built-in table, then served with the organisation's file: re-normalising over HTTP
    (a dry run first) gives the runs what ingest by that file would have; metrics see it at once."""
    db = tmp_path / "store.duckdb"
    plain = start_server(db=str(db))
    try:
        run_id = send_acme_run(plain.grpc_endpoint)
    finally:
        plain.stop()
    conventions = tmp_path / "acme.toml"
    conventions.write_text(ACME)
    server = start_server(db=str(db), conventions=str(conventions))
    try:
        api = server.api_url
        before = httpx.get(f"{api}/api/v1/agents/metrics", params={"days": 3650}).json()
        assert [agent["agent_id"] for agent in before["agents"]] != ["refunds"]
        dry = httpx.post(f"{api}/api/v1/executions/renormalize", json={"dry_run": True}).json()
        assert dry["dry_run"] is True and dry["conventions"] == str(conventions)
        assert (dry["spans_checked"], dry["spans_changed"], dry["runs_updated"]) == (3, 3, 1)
        assert dry["columns_changed"]["node_type"] == 3
        assert httpx.get(f"{api}/api/v1/agents/history", params={"user_id": "c-42"}).json() == []
        done = httpx.post(f"{api}/api/v1/executions/renormalize", json={"since": "2025-01-01"}).json()
        assert done == {**dry, "dry_run": False}
        (run,) = httpx.get(f"{api}/api/v1/agents/history", params={"user_id": "c-42"}).json()
        assert (run["run_id"], run["agent_id"], run["session_id"]) == (run_id, "refunds", "conv-7")
        after = httpx.get(f"{api}/api/v1/agents/metrics", params={"days": 3650}).json()
        assert [agent["agent_id"] for agent in after["agents"]] == ["refunds"]
        again = httpx.post(f"{api}/api/v1/executions/renormalize", json={}).json()
        assert again["spans_changed"] == 0
        bad = httpx.post(f"{api}/api/v1/executions/renormalize", json={"dry_run": "yes"})
        assert (bad.status_code, bad.json()["error"]["message"]) == (400, "dry_run must be true or false")
    finally:
        server.stop()


def test_the_cli_re_normalises_a_database_file(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    plain = start_server(db=str(db))
    try:
        send_acme_run(plain.grpc_endpoint)
    finally:
        plain.stop()
    conventions = tmp_path / "acme.toml"
    conventions.write_text(ACME)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(agentlog_command("executions", "renormalize", "--db", str(db), *args),
                              capture_output=True, text=True, env=child_env(), cwd=tmp_path, timeout=60, check=False)  # fmt: skip

    dry = cli("--conventions", str(conventions), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"checked 3 spans by {conventions} conventions: would change 3 spans of 1 runs" in dry.stdout
    assert "node_type 3" in dry.stdout
    done = cli("--conventions", str(conventions), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["spans_changed"] == 3
    assert "changed 0 spans" in cli("--conventions", str(conventions)).stdout
    undone = cli("--json")  # no file: the built-in table alone reads none of the organisation's keys
    assert json.loads(undone.stdout)["columns_changed"]["user_id"] == 1
    bad = cli("--conventions", str(tmp_path / "missing.toml"))
    assert bad.returncode == 2
    assert "conventions file" in bad.stderr and "cannot read it" in bad.stderr


def test_metrics_kept_by_day_are_forgotten_when_only_names_change(tmp_path: Path) -> None:
    """Same costs, same commits: only the agent's name moves, which the metrics' day signatures cannot see."""
    db, first, second = tmp_path / "store.duckdb", tmp_path / "first.toml", tmp_path / "second.toml"
    first.write_text(ACME)
    second.write_text(ACME.replace('agent_name = "acme.flow"', 'agent_name = "acme.team"'))
    server = start_server(db=str(db), conventions=str(first))
    try:
        send_acme_run(server.grpc_endpoint)
    finally:
        server.stop()
    server = start_server(db=str(db), conventions=str(second))
    try:
        api = server.api_url
        before = httpx.get(f"{api}/api/v1/agents/metrics", params={"days": 3650}).json()
        assert [agent["agent_id"] for agent in before["agents"]] == ["refunds"]
        done = httpx.post(f"{api}/api/v1/executions/renormalize", json={}).json()
        assert done["columns_changed"] == {"agent_name": 1}
        after = httpx.get(f"{api}/api/v1/agents/metrics", params={"days": 3650}).json()
        assert [agent["agent_id"] for agent in after["agents"]] == ["billing"]
    finally:
        server.stop()
