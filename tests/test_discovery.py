"""The CLI finds a running server from any directory: through this user's registry of running servers."""

from __future__ import annotations

import http.server
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import httpx
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


def _entry(path: Path, api_url: str, pid: int, instance_id: str, db: str = "/old.duckdb") -> Path:
    path.write_text(json.dumps({"pid": pid, "api_url": api_url, "db": db, "instance_id": instance_id}))
    path.chmod(0o600)
    return path


def test_an_old_entry_for_the_same_port_is_removed_not_counted(
    tmp_path: Path, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A killed server's entry whose pid now belongs to another process (pid 1 here) and whose port a
    new server answers on: the new server's id differs, so the entry is stale, not a second server."""
    monkeypatch.chdir(tmp_path)
    server = start_server(db=str(tmp_path / "new.duckdb"))
    try:
        (live,) = runtime_dir.glob("*.json")
        instance_id = json.loads(live.read_text()).get("instance_id")
        old = _entry(runtime_dir / f"1-{server.running.api_port}.json", server.api_url, 1, "0" * 32)
        twin = _entry(runtime_dir / "copy.json", server.api_url, os.getpid(), instance_id)
        result = runner.invoke(app, ["history", "--json"])
        assert result.exit_code == 0, result.stderr
        assert not old.exists()
        assert instance_id == server.running.instance_id
        assert httpx.get(server.api_url + "/healthz", timeout=10).json()["instance_id"] == instance_id
        assert [info.path for info in discovery.registered_servers(runtime_dir)] in ([live], [twin])
    finally:
        server.stop()


def test_an_entry_nothing_answers_is_kept_while_its_process_lives(runtime_dir: Path) -> None:
    quiet = _entry(runtime_dir / "quiet.json", "http://127.0.0.1:9", os.getpid(), "1" * 32)
    gone = _entry(runtime_dir / "gone.json", "http://127.0.0.1:9", _dead_pid(), "2" * 32)
    assert discovery.registered_servers(runtime_dir) == []
    assert quiet.exists() and not gone.exists()


def test_a_stale_file_beside_the_database_never_leads_to_another_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``./agentlog.duckdb.server.json`` left by a killed server, its port now another server's: the
    CLI opens the file itself, never the other server (which holds other runs)."""
    other = start_server(db=":memory:")
    try:
        send_run(other.grpc_endpoint)
        monkeypatch.chdir(tmp_path)
        start_server(db=str(tmp_path / "agentlog.duckdb")).stop()
        stale = _entry(discovery.info_path(tmp_path / "agentlog.duckdb"), other.api_url, os.getpid(), "3" * 32)
        result = runner.invoke(app, ["history", "--json"])
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == []
        assert not stale.exists()
    finally:
        other.stop()


class _Impostor(http.server.BaseHTTPRequestHandler):
    """Answers anything with the id it is told, and remembers every Authorization header it saw."""

    instance_id = "4" * 32
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        if self.headers.get("Authorization"):
            self.seen.append(self.headers["Authorization"])
        body = json.dumps({"status": "ok", "instance_id": self.instance_id}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def impostor() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Impostor)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Impostor.seen = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("writable", ["entry", "registry", "owner"])
def test_an_entry_others_could_write_never_gets_the_key(
    writable: str, impostor: str, tmp_path: Path, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = _entry(runtime_dir / "planted.json", impostor, os.getpid(), _Impostor.instance_id)
    if writable == "entry":
        entry.chmod(0o666)
    elif writable == "registry":
        runtime_dir.chmod(0o777)
    elif os.getuid() == 0:
        os.chown(entry, 65534, 65534)
    else:
        pytest.skip("giving a file to another user needs root")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTLOG_API_KEY", "al_secret")
    result = runner.invoke(app, ["history"])
    assert _Impostor.seen == [], "the key went to a server named by a file someone else could write"
    assert result.exit_code == 3, result.output
    if writable == "registry":
        assert "can be written by other users" in " ".join(result.stderr.split())


def test_the_registry_is_created_private_and_a_shared_one_is_not_used(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh" / "servers"
    server = start_server(db=":memory:", runtime_dir=str(fresh))
    try:
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
        assert len(list(fresh.glob("*.json"))) == 1
    finally:
        server.stop()
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    server = start_server(db=":memory:", runtime_dir=str(shared))
    try:
        assert list(shared.glob("*.json")) == []
    finally:
        server.stop()


CHANGES = [
    ["keys", "create", "--tenant", "default", "--role", "admin"],
    ["keys", "revoke", "0123456789ab"],
    ["executions", "cleanup", "--days", "0"],
    ["executions", "schedule-cleanup", "--days", "5"],
    ["executions", "reprice", "--since", "2020-01-01"],
]


@pytest.mark.parametrize("command", CHANGES, ids=lambda c: " ".join(c[:2]))
def test_commands_that_change_data_never_act_on_a_server_found_elsewhere(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_server(db=str(tmp_path / "unrelated.duckdb"))
    try:
        elsewhere = tmp_path / "project"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)
        before = server.query("SELECT count(*) FROM api_keys")
        schedule = httpx.get(server.api_url + "/api/v1/executions/schedule", timeout=10).json()
        result = runner.invoke(app, command)
        assert result.exit_code == 3, result.output
        for said in ("changes data", server.api_url, str(tmp_path / "unrelated.duckdb"), f"--url {server.api_url}"):
            assert said in " ".join(result.stderr.split()), said
        assert server.query("SELECT count(*) FROM api_keys") == before
        shown = runner.invoke(app, ["executions", "schedule-cleanup", "--json"])
        assert shown.exit_code == 0, shown.output
        assert json.loads(shown.stdout) == schedule  # shown (a read), and not changed
        assert runner.invoke(app, ["history"]).exit_code == 0
        assert not (elsewhere / "agentlog.duckdb").exists()
    finally:
        server.stop()


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
