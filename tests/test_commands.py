"""The CLI's read and maintenance commands, against a running server and against a bare file."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from agentlog.cli import app
from agentlog.errors import InvalidRequest
from agentlog.query.sql_console import run_sql
from agentlog.store import Database
from tests.api.sdk_runs import SECOND, Step, send_run
from tests.collector.test_grpc_receiver import export_raw
from tests.conftest import ServerHandle, start_server
from tests.factories import make_request, make_span

DAY = 86_400 * SECOND
runner = CliRunner()


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def cli_json(*args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _now() -> int:
    return time.time_ns() // SECOND * SECOND


def _record_runs(server: ServerHandle) -> dict[str, str]:
    now = _now()
    return {
        "fresh": send_run(server.grpc_endpoint, start=now - 3600 * SECOND),
        "failed": send_run(
            server.grpc_endpoint,
            agent="writer",
            user="bob",
            start=now - 7200 * SECOND,
            steps=[Step("draft"), Step("lookup", kind="tool", fail=True)],
            fail_root=True,
        ),
        "old": send_run(server.grpc_endpoint, start=now - 40 * DAY),
    }


READS = [
    ("history",),
    ("executions", "stats", "--days", "30"),
    ("executions", "stats", "--user-id", "bob", "--days", "30"),
    ("executions", "metrics", "--flow-id", "writer", "--days", "30"),
    ("executions", "metrics", "--days", "60"),
    ("history", "--sort", "duration", "--order", "asc", "--limit", "2"),
    ("history", "--q", "pr #42", "--model", "gpt-4o", "--agent-id", "writer"),
    ("sessions",),
    ("sessions", "--user-id", "bob", "--limit", "1"),
    ("session", "s-1"),
]


def test_every_read_gives_the_same_answer_with_and_without_a_server(db_path: Path) -> None:
    server = start_server(db=str(db_path))
    try:
        runs = _record_runs(server)
        assert Path(str(db_path) + ".server.json").exists()
        through_server = [cli_json(*command, "--db", str(db_path)) for command in READS]
        logs_remote = cli_json("logs", runs["failed"], "--db", str(db_path))
        span = logs_remote["nodes"][1]["span_id"]
        node_flags = (("--outline",), ("--span", span))
        nodes_remote = [cli_json("logs", runs["failed"], *flags, "--db", str(db_path)) for flags in node_flags]
        sql_remote = cli_json("sql", "SELECT agent, runs FROM agents ORDER BY agent", "--db", str(db_path))
    finally:
        server.stop()
    assert not Path(str(db_path) + ".server.json").exists()
    direct = [cli_json(*command, "--db", str(db_path)) for command in READS]
    for remote, local in zip(through_server, direct, strict=True):
        if isinstance(remote, dict):  # the window's start moved on meanwhile
            remote.pop("since", None)
            local.pop("since", None)
        assert remote == local
    assert [run["run_id"] for run in direct[0]] == [runs["fresh"], runs["failed"], runs["old"]]
    assert direct[2]["runs"] == 1 and direct[2]["failed_runs"] == 1
    assert direct[5][0]["run_id"] == runs["failed"]  # 2.2 s, the others 3.2 s
    assert [run["run_id"] for run in direct[6]] == [runs["failed"]]
    assert [(s["session_id"], s["runs"]) for s in direct[7]] == [("s-1", 3)]
    assert [run["run_id"] for run in direct[9]["items"]] == [runs["old"], runs["failed"], runs["fresh"]]
    assert cli_json("logs", runs["failed"], "--db", str(db_path)) == logs_remote
    assert logs_remote["status"] == "failed" and [n["id"] for n in logs_remote["nodes"]] == ["draft", "lookup"]
    assert [cli_json("logs", runs["failed"], *flags, "--db", str(db_path)) for flags in node_flags] == nodes_remote
    assert [n["id"] for n in nodes_remote[0]["nodes"]] == ["draft", "lookup"]
    assert "input" not in nodes_remote[0]["nodes"][0]
    assert nodes_remote[1]["nodes"] == [logs_remote["nodes"][1]]
    assert cli_json("sql", "SELECT agent, runs FROM agents ORDER BY agent", "--db", str(db_path)) == sql_remote
    assert sql_remote["rows"] == [{"agent": "bug-triager", "runs": 2}, {"agent": "writer", "runs": 1}]


def test_tables_and_trees_for_people(db_path: Path) -> None:
    server = start_server(db=str(db_path))
    try:
        runs = _record_runs(server)
        history = cli("history", "--db", str(db_path))
        assert history.exit_code == 0 and runs["fresh"][:12] in history.stdout and "writer" in history.stdout
        logs = cli("logs", runs["failed"][:12], "--db", str(db_path))  # a unique prefix is enough
        assert logs.exit_code == 0
        assert "✗ lookup" in logs.stdout and "RuntimeError: lookup broke" in logs.stdout
        lookup = cli_json("logs", runs["failed"], "--db", str(db_path))["nodes"][1]
        node = cli("logs", runs["failed"][:12], "--span", lookup["span_id"], "--db", str(db_path))
        assert node.exit_code == 0 and "✗ lookup" in node.stdout and "draft" not in node.stdout
        assert "gen_ai.tool.name" in node.stdout and "exception" in node.stdout  # its attributes and events
        stats = cli("executions", "stats", "--days", "30", "--db", str(db_path))
        assert "success rate" in stats.stdout and "50%" in stats.stdout
        sessions = cli("sessions", "--db", str(db_path))
        assert sessions.exit_code == 0 and "s-1" in sessions.stdout and "  3  " in sessions.stdout
        session = cli("session", "s-1", "--db", str(db_path))
        assert session.exit_code == 0 and "3 runs, 1 failed" in session.stdout and runs["old"][:12] in session.stdout
        assert cli("session", "no-such", "--db", str(db_path)).exit_code == 3
        sorted_history = cli("history", "--sort", "slowest", "--db", str(db_path))
        assert sorted_history.exit_code == 2 and "sort must be one of" in sorted_history.output
    finally:
        server.stop()


def test_cleanup_deletes_exactly_the_expired_runs_while_ingest_goes_on(db_path: Path) -> None:
    server = start_server(db=str(db_path))
    try:
        now = _now()
        old = [send_run(server.grpc_endpoint, start=now - (31 + i) * DAY, steps=[Step("a")]) for i in range(5)]
        kept = [send_run(server.grpc_endpoint, start=now - (29 - i) * DAY, steps=[Step("a")]) for i in range(3)]
        dry = cli_json("executions", "cleanup", "--days", "30", "--dry-run", "--db", str(db_path))
        assert (dry["runs"], dry["spans"], dry["dry_run"]) == (5, 10, True)
        assert server.query("SELECT count(*) FROM run_rollups") == [(8,)]

        sent: list[str] = []
        stop = threading.Event()

        def ingest() -> None:
            while not stop.is_set():
                sent.append(send_run(server.grpc_endpoint, start=_now(), steps=[Step("live")]))

        sender = threading.Thread(target=ingest)
        sender.start()
        try:
            time.sleep(0.3)
            done = cli_json("executions", "cleanup", "--days", "30", "--db", str(db_path))
        finally:
            stop.set()
            sender.join()
        assert (done["runs"], done["spans"]) == (5, 10)
        remaining = {row[0] for row in server.query("SELECT run_id FROM runs")}
        assert remaining == set(kept) | set(sent)
        assert not remaining & set(old)
        assert len(sent) > 0
    finally:
        server.stop()


def test_a_running_run_is_never_cleaned_up(db_path: Path) -> None:
    server = start_server(db=str(db_path))
    try:
        # The root never arrives: the run is running. Recent enough not to count as abandoned.
        send_run(server.grpc_endpoint, start=_now() - 31 * DAY, steps=[Step("a")])
        orphan = make_span(name="step", start=_now() - 36 * 3600 * SECOND, parent_span_id=b"\x01" * 8)
        export_raw(server.grpc_endpoint, make_request([orphan]).SerializeToString())
        done = cli_json("executions", "cleanup", "--days", "1", "--db", str(db_path))
        assert done["runs"] == 1
        assert server.query("SELECT status FROM runs") == [("running",)]
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("DELETE FROM stored_spans", "only SELECT"),
        ("DROP TABLE run_rollups", "only SELECT"),
        ("INSERT INTO retention_schedules VALUES ('x', 1, 1, now(), NULL, NULL)", "only SELECT"),
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv() is not allowed"),
        ("SELECT * FROM '/etc/passwd'", "no table or view"),
        ("SELECT * FROM read_text('/etc/hostname')", "read_text() is not allowed"),
        ("COPY (SELECT * FROM runs) TO '/tmp/agentlog-leak.csv'", "only SELECT"),
        ("ATTACH '/tmp/agentlog-other.duckdb'", "only SELECT"),
        ("INSTALL httpfs", "only SELECT"),
        ("SELECT 1; DELETE FROM stored_spans", "exactly one statement"),
        ("SELECT * FROM runs WHERE run_id IN (SELECT * FROM glob('/*'))", "glob() is not allowed"),
        ("SELECT nonsense FROM", "does not parse"),
    ],
)
def test_sql_cannot_write_or_reach_files(db_path: Path, sql: str, says: str) -> None:
    server = start_server(db=str(db_path))
    try:
        send_run(server.grpc_endpoint)
        result = cli("sql", sql, "--db", str(db_path))
        assert result.exit_code == 2
        assert says in result.stderr
        assert server.span_count() == 4
    finally:
        server.stop()
    direct = cli("sql", sql, "--db", str(db_path))
    assert direct.exit_code == 2 and says in direct.stderr
    assert not Path("/tmp/agentlog-leak.csv").exists()


def test_sql_is_bounded_in_rows_and_time(db_path: Path) -> None:
    server = start_server(db=str(db_path))
    try:
        out = cli_json("sql", "SELECT * FROM range(100)", "--max-rows", "7", "--db", str(db_path))
        assert (len(out["rows"]), out["truncated"]) == (7, True)
    finally:
        server.stop()
    database = Database.open(db_path)
    with pytest.raises(InvalidRequest, match=r"longer than 0\.2 s"):
        run_sql(database.cursor(), "SELECT count(*) FROM range(100000000000)", timeout=0.2)
    database.close()


def test_export_writes_parquet_csv_and_json(db_path: Path, tmp_path: Path) -> None:
    server = start_server(db=str(db_path))
    try:
        _record_runs(server)
        target = tmp_path / "spans.parquet"
        assert cli("export", "-o", str(target), "--since", "2000-01-01", "--db", str(db_path)).exit_code == 0
        assert pq.read_table(target).num_rows == 11
    finally:
        server.stop()
    runs_csv = tmp_path / "runs.csv"
    assert cli("export", "-o", str(runs_csv), "--table", "runs", "--format", "csv", "--db", str(db_path)).exit_code == 0
    assert len(runs_csv.read_text().splitlines()) == 4  # header + 3 runs
    nodes = tmp_path / "nodes.jsonl"
    recent = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 2 * 86400))
    assert cli("export", "-o", str(nodes), "--table", "nodes", "--format", "json", "--since", recent,
               "--db", str(db_path)).exit_code == 0  # fmt: skip
    assert len(nodes.read_text().splitlines()) == 5  # the two recent runs' nodes


def test_schedule_cleanup_is_kept_by_the_server(db_path: Path) -> None:
    server = start_server(db=str(db_path), retention_days=30)
    try:
        assert cli_json("executions", "schedule-cleanup", "--db", str(db_path))["days"] == 30
        set_ = cli_json("executions", "schedule-cleanup", "--every", "2h", "--days", "14", "--db", str(db_path))
        assert (set_["days"], set_["every_seconds"]) == (14, 7200)
    finally:
        server.stop()
    shown = cli_json("executions", "schedule-cleanup", "--db", str(db_path))
    assert (shown["days"], shown["every_seconds"]) == (14, 7200)


def test_reprice_restores_computed_costs_and_run_totals(db_path: Path) -> None:
    server = start_server(db=str(db_path))
    try:
        run_id = send_run(server.grpc_endpoint)
    finally:
        server.stop()
    connection = duckdb.connect(str(db_path))
    good = connection.execute("SELECT cost_usd FROM runs").fetchone()[0]
    # As if the price data had been wrong when these spans came in.
    connection.execute("UPDATE stored_spans SET cost_usd = 1 WHERE cost_source = 'computed'")
    assert connection.execute("SELECT count(*) FROM run_partials").fetchone() == (0,)  # compacted at stop
    connection.execute("UPDATE run_compacted SET cost_usd = 2")
    connection.close()
    result = cli_json("executions", "reprice", "--since", "2000-01-01", "--db", str(db_path))
    assert (result["spans_checked"], result["spans_changed"], result["runs_updated"]) == (2, 2, 1)
    assert cli_json("history", "--db", str(db_path))[0]["cost_usd"] == pytest.approx(float(good))
    assert cli_json("logs", run_id, "--db", str(db_path))["nodes"][0]["cost"]["source"] == "computed"


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (("history", "--status", "done"), 2, "status must be one of"),
        (("history", "--cursor", "???"), 2, "cursor is not valid"),
        (("logs", "not-a-run"), 2, "run_id must be 32 hexadecimal digits"),
        (("logs", "0123456789abcdef0123456789abcdef"), 3, "no run with run_id"),
        (("export", "-o", "x.xml", "--format", "xml"), 2, "--format must be parquet, csv or json"),
        (("export", "-o", "x.parquet", "--since", "last week"), 2, "--since must be an ISO 8601"),
        (("executions", "schedule-cleanup", "--every", "soon"), 2, "--every takes a duration"),
        (("executions", "reprice", "--since", "yesterday"), 2, "since must be an ISO 8601"),
    ],
)
def test_bad_arguments_get_clear_messages_and_exit_codes(
    db_path: Path, args: tuple[str, ...], code: int, says: str
) -> None:
    server = start_server(db=str(db_path))
    server.stop()
    result = cli(*args, "--db", str(db_path))
    assert result.exit_code == code, result.output
    assert says in result.stderr


def test_a_missing_database_is_not_created(tmp_path: Path) -> None:
    result = cli("history", "--db", str(tmp_path / "nothing.duckdb"))
    assert result.exit_code == 3 and "no database at" in result.stderr
    assert not (tmp_path / "nothing.duckdb").exists()


def test_a_database_held_by_another_process_gets_a_message_not_a_lock_error(db_path: Path) -> None:
    start_server(db=str(db_path)).stop()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(db_path)!r}); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = cli("history", "--db", str(db_path))
        assert result.exit_code == 4
        assert "open in another process" in result.stderr and "--url" in result.stderr
        assert "IO Error" not in result.stderr and "Conflicting lock" not in result.stderr
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def test_python_m_agentlog_executions_works_as_documented() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agentlog", "executions", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    for command in ("cleanup", "stats", "metrics", "schedule-cleanup", "reprice"):
        assert command in result.stdout
