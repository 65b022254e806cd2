"""The CLI finds a running server from any directory: through this user's registry of running servers."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentlog import discovery
from agentlog.cli import app
from tests.api.sdk_runs import send_run
from tests.conftest import start_server
from tests.test_server import ServerProcess, child_env

runner = CliRunner()


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _cli_in(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``agentlog ...`` run as a user runs it, from ``directory``, with no database or URL named."""
    return subprocess.run(
        [sys.executable, "-m", "agentlog", *args],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=directory,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_the_cli_finds_a_server_started_in_another_directory(tmp_path: Path, runtime_dir: Path) -> None:
    served = tmp_path / "served"
    elsewhere = tmp_path / "agent"
    served.mkdir()
    elsewhere.mkdir()
    server = ServerProcess.start(served / "agentlog.duckdb")
    try:
        run_id = send_run(server.grpc_endpoint)
        (entry,) = runtime_dir.glob("*.json")
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600
        assert json.loads(entry.read_text())["db"] == str(served / "agentlog.duckdb")
        found = _cli_in(elsewhere, "history", "--json")
        assert found.returncode == 0, found.stderr
        assert [run["run_id"] for run in json.loads(found.stdout)] == [run_id]
        assert not (elsewhere / "agentlog.duckdb").exists()
    finally:
        assert server.stop() == 0
    assert list(runtime_dir.glob("*.json")) == [], "a stopped server leaves no entry"
    nothing = _cli_in(elsewhere, "history")
    assert nothing.returncode == 3
    for hint in ("--url", "AGENTLOG_URL", "--db", "AGENTLOG_DB"):
        assert hint in nothing.stderr


def test_stale_entries_are_ignored_and_removed(tmp_path: Path, runtime_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    stale = runtime_dir / "stale.json"
    stale.write_text(json.dumps({"pid": _dead_pid(), "api_url": "http://127.0.0.1:9", "db": "/gone.duckdb"}))
    (runtime_dir / "broken.json").write_text("{not json")
    monkeypatch.chdir(tmp_path)
    server = start_server(db=str(tmp_path / "elsewhere.duckdb"))
    try:
        assert [info.api_url for info in discovery.registered_servers(runtime_dir)] == [server.api_url]
        assert not stale.exists()
        assert runner.invoke(app, ["history", "--json"]).exit_code == 0
    finally:
        server.stop()


def test_several_servers_are_named_with_how_to_choose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = start_server(db=str(tmp_path / "one.duckdb"))
    second = start_server(db=":memory:")
    try:
        result = runner.invoke(app, ["history"])
        assert result.exit_code == 2
        for said in (first.api_url, second.api_url, str(tmp_path / "one.duckdb"), "--url", "--db"):
            assert said in result.stderr
        chosen = runner.invoke(app, ["history", "--json", "--url", second.api_url])
        assert chosen.exit_code == 0 and json.loads(chosen.stdout) == []
    finally:
        first.stop()
        second.stop()


def test_a_database_in_the_current_directory_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ./agentlog.duckdb present the CLI reads it (or its server), whatever else is running."""
    elsewhere = start_server(db=":memory:")
    try:
        here = tmp_path / "here"
        here.mkdir()
        start_server(db=str(here / "agentlog.duckdb")).stop()
        monkeypatch.chdir(here)
        send_run(elsewhere.grpc_endpoint)
        result = runner.invoke(app, ["history", "--json"])
        assert result.exit_code == 0 and json.loads(result.stdout) == []
    finally:
        elsewhere.stop()


def test_tests_never_touch_the_users_registry(runtime_dir: Path) -> None:
    assert os.environ["AGENTLOG_RUNTIME_DIR"] == str(runtime_dir)
    assert child_env()["AGENTLOG_RUNTIME_DIR"] == str(runtime_dir)


@pytest.mark.parametrize("how", ["option", "env"])
def test_an_explicit_db_named_like_the_default_is_that_file(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_server(db=str(tmp_path / "elsewhere.duckdb"))
    try:
        here = tmp_path / "here"
        here.mkdir()
        monkeypatch.chdir(here)
        args = ["history", "--json"]
        if how == "option":
            args += ["--db", "agentlog.duckdb"]
        else:
            monkeypatch.setenv("AGENTLOG_DB", "agentlog.duckdb")
        result = runner.invoke(app, args)
        assert result.exit_code == 3, result.output
        assert "no database at agentlog.duckdb" in result.stderr
        assert server.api_url not in result.stderr
    finally:
        server.stop()
