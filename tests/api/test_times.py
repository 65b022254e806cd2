"""Times at the edges: stored rows with impossible times, and dates past what ISO 8601 says.

Spans an older agentlog stored with impossible times: every read still works.
Before agentlog checked span times at ingest, it stored them as sent: spans
ending before they started, starting at 0, or at times past what a
``TIMESTAMP_NS`` holds. Such rows are written here into the store directly,
as that version did (its decoder passed the times through), and then every
read is made over the API and the CLI.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from agentlog.cli import app
from agentlog.proto.rows import to_arrow
from agentlog.proto.spans import decode_spans
from agentlog.store import Database, commit_spans, last_commit_seq
from tests.api.every_read import EDGE_DATES, read_everything, sql
from tests.conftest import ServerHandle, start_server
from tests.factories import make_request, make_span, new_trace_id

SECOND = 1_000_000_000
NS_MAX = 2**64 - 1
TS_INFINITY = 2**63 - 1  # DuckDB's TIMESTAMP_NS "infinity"


def _store_as_an_older_agentlog_did(db_path: Path, times: list[tuple[str, str | None, int, int]]) -> dict[str, str]:
    """Spans (name, parent name, start, end) stored with these times as they are; run ids by root name."""
    spans = {}
    for name, parent, _, _ in times:
        trace_id = spans[parent].trace_id if parent else new_trace_id()
        parent_id = spans[parent].span_id if parent else b""
        spans[name] = make_span(trace_id=trace_id, parent_span_id=parent_id, name=name, attributes=_agent(name))
    batch = decode_spans(make_request(list(spans.values())))
    assert not batch.rejected
    batch.start_time_unix_nano[:] = [start for _, _, start, _ in times]
    batch.end_time_unix_nano[:] = [end for _, _, _, end in times]
    database = Database.open(db_path)
    try:
        cursor = database.cursor()
        commit_spans(cursor, [to_arrow(batch, "default")], last_commit_seq(cursor) + 1)
    finally:
        database.close()
    return {name: spans[name].trace_id.hex() for name, parent, _, _ in times if parent is None}


def _agent(name: str) -> dict[str, str]:
    return {"gen_ai.agent.name": name} if name.startswith("run") else {"gen_ai.tool.name": name}


def test_rows_with_impossible_times_never_make_a_read_fail(db_path: Path, tmp_path: Path) -> None:
    now = time.time_ns() // SECOND * SECOND - 3600 * SECOND
    run_ids = _store_as_an_older_agentlog_did(
        db_path,
        [
            ("run backwards", None, now, now + 10 * SECOND),
            ("ends before it starts", "run backwards", now + 5 * SECOND, now + SECOND),
            ("never ended", "run backwards", now + 6 * SECOND, 0),
            ("run ends past 2262", None, now, NS_MAX),
            ("starts at infinity", "run ends past 2262", TS_INFINITY, TS_INFINITY),
            ("run past 2262", None, 2**63, NS_MAX),
            ("step past 2262", "run past 2262", NS_MAX, 2**63),
            ("run at 0", None, 0, 0),
        ],
    )
    server = start_server(db=str(db_path))
    try:
        seen = read_everything(server.api_url, list(run_ids.values()))
        durations = sql(server.api_url, "SELECT name, duration_ms FROM spans ORDER BY name")["rows"]
        late = sql(server.api_url, "SELECT count(*) FROM spans WHERE start_time IS NULL")["rows"]
    finally:
        server.stop()

    assert all(duration >= 0 for _, duration in durations)
    assert dict(durations)["ends before it starts"] == 0
    assert late == [[3]]  # past the latest TIMESTAMP_NS: no time to show
    nodes = {node["id"]: node for node in seen["logs"][run_ids["run backwards"]]["nodes"]}
    assert nodes["ends before it starts"]["duration_ms"] == 0
    assert nodes["ends before it starts"]["ended_at"] == nodes["ends before it starts"]["started_at"]
    assert {row["agent_id"] for row in seen["metrics"]["agents"]} >= {"run backwards", "run ends past 2262"}
    assert seen["export"]["spans"].num_rows == 8
    for date in EDGE_DATES:
        target = tmp_path / "spans.parquet"
        result = CliRunner().invoke(app, ["export", "-o", str(target), "--since", date, "--db", str(db_path)])
        assert result.exit_code == 0, result.output
        assert pq.read_table(target).num_rows == (8 if date.startswith("0001") else 3)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/api/v1/agents/history?since=", "10000-01-01"),
        ("/api/v1/agents/history?until=", "0000-12-31"),
        ("/api/v1/agents/history?since=", "2025-02-30"),
        ("/api/v1/agents/history?until=", "2025-01-01T00:00:00+24:00"),
        ("/api/v1/export?since=", "+12025-01-01"),
        ("/api/v1/export?since=", "9999-12-31T24:00:01Z"),
    ],
)
def test_dates_past_what_iso_8601_can_say_are_a_400_that_says_so(server: ServerHandle, path: str, value: str) -> None:
    response = httpx.get(server.api_url + path + quote(value))
    assert response.status_code == 400, response.text
    assert "ISO 8601 date or date-time in the years 0001 to 9999" in response.json()["error"]["message"]
    assert repr(value) in response.json()["error"]["message"]
