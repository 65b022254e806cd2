"""The CLI on a lake: it opens the lake itself (several processes share it by design), a new one where
AGENTLOG_DATA_PATH says."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from agentlog.cli import app
from tests.api.sdk_runs import send_run
from tests.conftest import start_server
from tests.lake.conftest import Lake

runner = CliRunner()


def test_keys_and_history_from_the_cli_on_a_lake(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    new = runner.invoke(app, ["history", "--db", lake.db])
    assert new.exit_code != 0 and "data_path" in new.output  # a new lake needs to know where its files go
    monkeypatch.setenv("AGENTLOG_DATA_PATH", str(lake.data_path))
    created = runner.invoke(app, ["keys", "create", "--db", lake.db, "--tenant", "default", "--role", "ingest"])
    assert created.exit_code == 0, created.output
    key = created.stdout.split()[0]
    server = start_server(db=lake.db)  # keys exist: its senders need one
    try:
        run_id = send_run(server.grpc_endpoint, headers={"authorization": f"Bearer {key}"})
        listed = runner.invoke(app, ["history", "--db", lake.db, "--json"])  # beside the running server
        assert listed.exit_code == 0, listed.output
        assert [run["run_id"] for run in json.loads(listed.stdout)] == [run_id]
    finally:
        server.stop()
