"""Keys from the command line: the README's setup as written, and the file-mode CLI applying a key's scope."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from agentlog.cli import app
from agentlog.store import Database
from agentlog.store.keys import create_key
from tests.api.sdk_runs import send_run
from tests.collector.test_grpc_receiver import export_raw
from tests.conftest import start_server
from tests.factories import agent_spans, make_request, make_span, new_trace_id
from tests.test_server import ServerProcess, child_env

runner = CliRunner()


def _agentlog(cwd: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    """The ``agentlog`` command as a user types it in ``cwd`` (finding the server by itself)."""
    env = child_env()
    if key is not None:
        env["AGENTLOG_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "agentlog", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60, check=False)  # fmt: skip


def _created(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    key = result.stdout.splitlines()[0]
    assert key.startswith("al_"), result.stdout
    return key


@pytest.mark.slow
def test_the_readme_key_setup_works_as_written_and_keeps_earlier_runs(tmp_path: Path) -> None:
    server = ServerProcess.start(tmp_path / "agentlog.duckdb")
    try:
        alices = send_run(server.grpc_endpoint, user="alice")  # recorded before any key: tenant default
        bobs = send_run(server.grpc_endpoint, user="bob")
        admin = _created(_agentlog(tmp_path, "keys", "create", "--tenant", "default", "--role", "admin"))
        # From here on the CLI needs a key; the README exports the admin key.
        assert _agentlog(tmp_path, "keys", "create", "--tenant", "default", "--role", "ingest").returncode == 5
        ingest = _created(_agentlog(tmp_path, "keys", "create", "--tenant", "default", "--role", "ingest", key=admin))
        alice = _created(
            _agentlog(tmp_path, "keys", "create", "--tenant", "default", "--role", "read", "--user", "alice", key=admin)
        )
        seen = _agentlog(tmp_path, "history", "--json", key=alice)
        assert seen.returncode == 0, seen.stderr
        assert [run["run_id"] for run in json.loads(seen.stdout)] == [alices]
        everything = _agentlog(tmp_path, "history", "--json", key=admin)
        assert {run["run_id"] for run in json.loads(everything.stdout)} == {alices, bobs}
        assert _agentlog(tmp_path, "history", key=ingest).returncode == 5
        assert _agentlog(tmp_path, "history").returncode == 5
    finally:
        assert server.stop() == 0


@dataclass
class Keys:
    admin_a: str
    read_a: str
    alice_a: str
    admin_b: str
    ingest_a: str


@dataclass
class Keyed:
    db: str
    keys: Keys
    runs: dict[str, str]

    def cli(self, *args: str, key: str | None = None) -> Any:
        return runner.invoke(app, [*args, "--db", self.db, *(["--key", key] if key else [])])

    def json(self, *args: str, key: str | None = None) -> Any:
        result = self.cli(*args, "--json", key=key)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


def _send(endpoint: str, key: str, user: str) -> str:
    trace_id = new_trace_id()
    spans = agent_spans(2, trace_id=trace_id)
    spans[0].attributes.extend(make_span(attributes={"user.id": user}).attributes)
    export_raw(endpoint, make_request(spans).SerializeToString(), metadata=(("authorization", f"Bearer {key}"),))
    return trace_id.hex()


@pytest.fixture
def keyed(db_path: Path) -> Iterator[Keyed]:
    """A database file with keys and runs in tenants a and b, and no server holding it."""
    database = Database.open(db_path)
    cursor = database.cursor()
    made = {
        "admin_a": create_key(cursor, "a", "admin")[0],
        "read_a": create_key(cursor, "a", "read")[0],
        "alice_a": create_key(cursor, "a", "read", "alice")[0],
        "admin_b": create_key(cursor, "b", "admin")[0],
        "ingest_a": create_key(cursor, "a", "ingest")[0],
    }
    ingest_b = create_key(cursor, "b", "ingest")[0]
    database.close()
    server = start_server(db=str(db_path))
    try:
        runs = {
            "alice": _send(server.grpc_endpoint, made["ingest_a"], "alice"),
            "bob": _send(server.grpc_endpoint, made["ingest_a"], "bob"),
            "carol_b": _send(server.grpc_endpoint, ingest_b, "carol"),
        }
    finally:
        server.stop()
    yield Keyed(str(db_path), Keys(**made), runs)


def test_the_file_mode_cli_applies_the_keys_tenant_user_and_role(keyed: Keyed) -> None:
    keys, runs = keyed.keys, keyed.runs
    assert [r["run_id"] for r in keyed.json("history", key=keys.alice_a)] == [runs["alice"]]
    assert {r["run_id"] for r in keyed.json("history", key=keys.read_a)} == {runs["alice"], runs["bob"]}
    assert [r["run_id"] for r in keyed.json("history", key=keys.admin_b)] == [runs["carol_b"]]
    assert keyed.cli("logs", runs["bob"], key=keys.alice_a).exit_code == 3
    assert keyed.cli("logs", runs["carol_b"], key=keys.read_a).exit_code == 3
    assert keyed.json("executions", "stats", "--days", "3650", key=keys.alice_a)["runs"] == 1
    sql = keyed.json("sql", "SELECT tenant_id, count(*) AS n FROM runs GROUP BY 1", key=keys.admin_a)
    assert sql["rows"] == [{"tenant_id": "a", "n": 2}]
    assert keyed.cli("sql", "SELECT count(*) FROM api_keys", key=keys.admin_a).exit_code == 2
    assert {k["tenant_id"] for k in keyed.json("keys", "list", key=keys.admin_b)} == {"b"}
    for denied in (
        keyed.cli("sql", "SELECT 1", key=keys.read_a),  # a read key: 403 on a server
        keyed.cli("history", key=keys.ingest_a),
        keyed.cli("keys", "create", "--tenant", "b", "--role", "read", key=keys.admin_a),
        keyed.cli("executions", "cleanup", "--days", "1", key=keys.alice_a),
        keyed.cli("history", key="al_000000000000_" + "x" * 43),  # not a key of this file: 401 on a server
    ):
        assert denied.exit_code == 5, denied.output
    assert len(keyed.json("history", key=keys.admin_b)) == 1  # nothing was deleted


def test_without_a_key_the_file_mode_cli_is_the_operator(keyed: Keyed) -> None:
    assert {k["tenant_id"] for k in keyed.json("keys", "list")} == {"a", "b"}
    sql = keyed.json("sql", "SELECT tenant_id, count(*) AS n FROM runs GROUP BY 1 ORDER BY 1")
    assert sql["rows"] == [{"tenant_id": "a", "n": 2}, {"tenant_id": "b", "n": 1}]


def test_a_locked_out_operator_creates_a_new_key_on_the_file(keyed: Keyed) -> None:
    for listed in keyed.json("keys", "list"):
        assert keyed.cli("keys", "revoke", listed["key_id"]).exit_code == 0
    revoked = keyed.cli("history", key=keyed.keys.admin_a)
    assert revoked.exit_code == 5 and "leave the key out" in revoked.stderr
    fresh = keyed.json("keys", "create", "--tenant", "a", "--role", "read")["key"]
    server = start_server(db=keyed.db)
    try:
        answer = httpx.get(f"{server.api_url}/api/v1/agents/history", headers={"Authorization": f"Bearer {fresh}"})
        assert answer.status_code == 200
        assert {r["run_id"] for r in answer.json()} == {keyed.runs["alice"], keyed.runs["bob"]}
        assert httpx.get(f"{server.api_url}/api/v1/agents/history").status_code == 401
    finally:
        server.stop()
