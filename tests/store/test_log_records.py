"""Stored log records: the migration that adds them, and retention deleting them with their runs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from agentlog.collector.writer import SpanWriter
from agentlog.proto import DEFAULT_MAX_ATTRIBUTE_LENGTH, decode_log_request
from agentlog.store import Database, commit_rows
from agentlog.store.migrate import current_version, load_migrations, migrate
from agentlog.store.retention import Deleted, count_expired, delete_expired
from tests.collector.test_logs_ingest import make_logs_request, make_record
from tests.factories import agent_spans, make_request, new_span_id, new_trace_id, span_rows
from tests.store.before_0018 import commit_spans_before_18

LOG_RECORDS_VERSION = 17
NS_PER_DAY = 86_400 * 10**9
NOW = 1_780_000_000 * 10**9


def log_rows(records: list[Any], tenant_id: str = "default") -> pa.Table:
    """The rows the server would insert for these records (every one must be valid)."""
    body = make_logs_request(records).SerializeToString()
    decoded = decode_log_request(body, "protobuf", tenant_id, DEFAULT_MAX_ATTRIBUTE_LENGTH)
    assert decoded.table is not None, decoded.message
    return decoded.table


def test_a_database_of_the_previous_schema_gains_log_records_and_keeps_its_spans(db_path: Path) -> None:
    connection = duckdb.connect(str(db_path))
    older = [migration for migration in load_migrations() if migration.version < LOG_RECORDS_VERSION]
    assert migrate(connection, older) == LOG_RECORDS_VERSION - 1
    commit_spans_before_18(connection, span_rows(make_request(agent_spans(3))), 1)
    connection.close()

    database = Database.open(db_path)
    cursor = database.cursor()
    assert current_version(cursor) == database.schema_version == load_migrations()[-1].version  # and later ones
    assert cursor.execute("SELECT count(*) FROM spans").fetchone() == (3,)
    assert cursor.execute("SELECT count(*) FROM log_records").fetchone() == (0,)
    assert commit_rows(cursor, [], [log_rows([make_record(body="first")])], 2) == (0, 1)
    assert cursor.execute("SELECT body, commit_seq FROM log_records").fetchall() == [('"first"', 2)]
    database.close()


def test_the_same_records_in_later_commits_are_not_stored_again(db_path: Path) -> None:
    database = Database.open(db_path)
    cursor = database.cursor()
    records = [make_record(time_ns=NOW + i, body=i) for i in range(3)] + [make_record(time_ns=0, body="untimed")]
    assert commit_rows(cursor, [], [log_rows(records)], 1) == (0, 4)
    assert commit_rows(cursor, [], [log_rows(records[1:]), log_rows(records)], 2) == (0, 0)
    # Another tenant's identical records are its own.
    assert commit_rows(cursor, [], [log_rows(records, "other")], 3) == (0, 4)
    assert cursor.execute("SELECT tenant_id, count(*) FROM log_records GROUP BY ALL ORDER BY 1").fetchall() == [
        ("default", 4),
        ("other", 4),
    ]
    database.close()


def _run(tenant: str, started_ns: int) -> tuple[bytes, bytes, pa.Table]:
    """A finished run of three spans that started at ``started_ns``: its trace id, a child's span id, its rows."""
    spans = agent_spans(3, trace_id=new_trace_id())
    for span in spans:
        span.start_time_unix_nano = started_ns
        span.end_time_unix_nano = started_ns + 10**9
    return spans[0].trace_id, spans[1].span_id, span_rows(make_request(spans), tenant)


def test_retention_deletes_log_records_with_their_runs_and_old_ones_of_no_run(db_path: Path) -> None:
    old, recent = NOW - 40 * NS_PER_DAY, NOW - 10 * NS_PER_DAY
    old_trace, old_span, old_run = _run("default", old)
    recent_trace, recent_span, recent_run = _run("default", recent)
    records = [
        make_record(trace_id=old_trace, span_id=old_span, time_ns=old, body="of the old run"),
        # A record of an expired run goes with it, whatever its own time.
        make_record(trace_id=old_trace, time_ns=recent, body="of the old run, logged late"),
        make_record(trace_id=recent_trace, span_id=recent_span, time_ns=old, body="of the recent run, logged early"),
        make_record(time_ns=old, body="old, of no trace"),
        make_record(time_ns=recent, body="recent, of no trace"),
        make_record(trace_id=new_trace_id(), span_id=new_span_id(), time_ns=old, body="old, of a run never sent"),
        make_record(time_ns=0, body="no time at all"),
    ]
    other_tenant = log_rows([make_record(time_ns=old, body="another tenant's")], "b")
    database = Database.open(db_path)
    writer = SpanWriter(database)
    writer.start()

    async def scenario() -> tuple[Deleted, Deleted, list[tuple[Any, ...]]]:
        await asyncio.gather(
            writer.write(old_run), writer.write(recent_run), writer.write(log_rows(records), "logs"),
            writer.write(other_tenant, "logs"),
        )  # fmt: skip
        cutoff = NOW - 30 * NS_PER_DAY
        counted = await writer.run_task(lambda cursor: count_expired(cursor, "default", cutoff))
        deleted = await delete_expired(writer.run_task, "default", cutoff)
        left = await writer.run_task(
            lambda cursor: cursor.execute("SELECT tenant_id, body FROM log_records ORDER BY ALL").fetchall()
        )
        return counted, deleted, left

    try:
        counted, deleted, left = asyncio.run(scenario())
    finally:
        writer.close()
        database.close()
    assert counted == deleted == Deleted(runs=1, spans=3, log_records=5)
    assert deleted.to_json() == {"runs": 1, "spans": 3, "log_records": 5}
    assert left == [
        ("b", '"another tenant\'s"'),
        ("default", '"of the recent run, logged early"'),
        ("default", '"recent, of no trace"'),
    ]
