"""`agentlog demo` records its runs into a running server, or into a DuckDB file with no server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from agentlog.cli import app
from agentlog.store import Database
from tests.conftest import ServerHandle

# agent, status, failed nodes: two runs recover from a tool failure, one fails for good
EXPECTED = [
    ("bug-triager", "success", 0),
    ("docs-assistant", "success", 0),
    ("bug-triager", "success", 1),
    ("pr-reviewer", "success", 0),
    ("pr-reviewer", "success", 1),
    ("bug-triager", "failed", 1),
]


def demo(*args: str) -> Any:
    result = CliRunner().invoke(app, ["demo", "--pace", "0", *args])
    assert result.exit_code == 0, result.output
    return result


def test_demo_against_a_running_server(server: ServerHandle) -> None:
    output = demo("--endpoint", server.grpc_endpoint, "--api-url", server.api_url).output
    assert "recording 6 runs" in output
    assert f"Look at them: open {server.api_url}/" in output  # where this server is, not the default port
    rows = server.query(
        "SELECT run_id, agent, status, failed_nodes, total_tokens, cost_usd, cost_source "
        "FROM run_summaries ORDER BY started_ns"
    )
    assert [(agent, status, failed) for _, agent, status, failed, *_ in rows] == EXPECTED
    assert all(tokens > 0 and cost > 0 and source == "computed" for *_, tokens, cost, source in rows)
    printed = [line.split()[0] for line in output.splitlines() if line.startswith("  ")]
    assert printed == [run_id for run_id, *_ in rows]
    history = httpx.get(f"{server.api_url}/api/v1/agents/history", timeout=10).json()
    assert sorted(run["run_id"] for run in history) == sorted(printed)
    failed = rows[-1][0]
    logs = httpx.get(f"{server.api_url}/api/v1/agents/logs", params={"run_id": failed}, timeout=10).json()
    assert (logs["errors"][0]["node"], logs["errors"][0]["message"]) == (
        "read_file",
        "auth/session.py: permission denied",
    )


def test_demo_into_a_file_without_a_server(tmp_path: Path) -> None:
    path = tmp_path / "demo.duckdb"
    output = demo("--db", str(path)).output
    assert f"agentlog serve --db {path}" in output
    database = Database.open(path)
    try:
        cursor = database.cursor()
        rows = cursor.execute("SELECT agent, status, failed_nodes, models FROM runs ORDER BY started_at").fetchall()
    finally:
        database.close()
    assert [(agent, status, failed) for agent, status, failed, _ in rows] == EXPECTED
    assert {model for *_, models in rows for model in models} == {
        "gpt-4o", "claude-sonnet-4", "gpt-4o-mini", "text-embedding-3-small",
    }  # fmt: skip


def test_demo_says_when_nothing_could_be_delivered(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--pace", "0", "--endpoint", "127.0.0.1:9"])
    assert result.exit_code == 1
    assert "is `agentlog serve` running?" in result.output
    both = CliRunner().invoke(app, ["demo", "--endpoint", "x:1", "--db", str(tmp_path / "x.duckdb")])
    assert both.exit_code == 2 and "not both" in both.output
