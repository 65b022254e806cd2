"""The store on a DuckLake (a real PostgreSQL catalog, Parquet files in a directory): the same tables as
a file, spans committed and read back, several processes' commits numbered apart."""

from __future__ import annotations

import asyncio
import multiprocessing
from typing import Any

import duckdb
import pytest

from agentlog.collector import writer as writer_module
from agentlog.collector.writer import SpanWriter
from agentlog.errors import Unauthenticated
from agentlog.store import Database, Keyring, commit_spans, compact_runs, retention
from agentlog.store.doubled import compact_runs_once_each
from agentlog.store.keys import create_key, revoke_key
from agentlog.store.lake import EXTENSIONS, extension_path, lake_schema
from agentlog.store.log_records import insert_log_records
from agentlog.store.migrate import create_views, migrate
from agentlog.store.schedules import Schedule, schedules, set_schedule
from agentlog.store.spans import insert_spans
from tests.api.sdk_runs import SECOND
from tests.factories import agent_spans, make_request, make_span, new_trace_id, span_rows
from tests.lake.conftest import Lake
from tests.store.test_log_records import log_rows, make_record


def _tables(cursor: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[tuple[str, str]]]:
    rows = cursor.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
        "ORDER BY table_name, column_index",
        [catalog],
    ).fetchall()
    tables: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        tables.setdefault(table, []).append((column, data_type))
    return tables


def test_a_lake_has_the_files_tables_views_and_columns(lake: Lake) -> None:
    file = duckdb.connect()
    migrate(file)
    create_views(file)
    database = Database.open(lake.db, data_path=str(lake.data_path))
    try:
        assert database.is_lake and database.schema_version == migrate(duckdb.connect())
        assert _tables(database.cursor(), "lake") == _tables(file, "memory")
        tables = file.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0]
        assert sum(s.startswith("CREATE TABLE") for s in lake_schema(file)) == tables
    finally:
        database.close()
    again = Database.open(lake.db)  # the data path is the lake's own from then on
    try:
        assert again.cursor().execute("SELECT count(*) FROM runs").fetchone() == (0,)
    finally:
        again.close()


def test_spans_commit_to_the_lake_and_read_back(lake: Lake, lake_database: Database) -> None:
    cursor = lake_database.cursor()
    trace = new_trace_id()
    spans = [make_span(trace_id=trace, name="invoke_agent a", attributes={"gen_ai.agent.name": "a"})]
    seq = lake_database.next_commit_seq(cursor)
    assert seq is not None
    assert commit_spans(cursor, [span_rows(make_request(spans), "default")], seq) == 1
    assert commit_spans(cursor, [span_rows(make_request(spans), "default")], seq + 1) == 0  # a retry
    assert cursor.execute("SELECT run_id, agent FROM runs").fetchall() == [(trace.hex(), "a")]
    assert lake_database.next_commit_seq(cursor) == seq + 1
    elsewhere = duckdb.connect()  # another DuckDB instance: what it reads is in the catalog and the files
    for package, name in EXTENSIONS:
        elsewhere.execute(f"LOAD '{extension_path(package, name)}'")
    elsewhere.execute(f"ATTACH '{lake.db}' AS other")
    assert elsewhere.execute("SELECT count(*) FROM other.stored_spans").fetchone() == (1,)


def _commit(database: Database, cursor: Any, spans: list[Any], tenant: str = "default") -> int:
    """``spans`` committed under the lake's next commit number; how many were new."""
    seq = database.next_commit_seq(cursor)
    assert seq is not None
    return commit_spans(cursor, [span_rows(make_request(spans), tenant)], seq)


def test_every_trace_id_reads_back_exactly_from_parquet(lake: Lake, lake_database: Database) -> None:
    """A commit past the inlining limit is written to Parquet, where DuckDB would have turned a UHUGEINT
    into a DOUBLE (53 of its 128 bits; migration 0018): 500 spans in one commit, every id read back."""
    cursor = lake_database.cursor()
    spans = [make_span(trace_id=new_trace_id(), name=f"s{i}") for i in range(500)]
    assert _commit(lake_database, cursor, spans) == 500
    assert len(list(lake.data_path.rglob("*.parquet"))) >= 2  # the spans' and the roll-ups' files at least
    stored = {int(t) for (t,) in cursor.execute("SELECT trace_id FROM stored_spans").fetchall()}
    assert stored == {int.from_bytes(span.trace_id, "big") for span in spans}
    runs = {run_id for (run_id,) in cursor.execute("SELECT run_id FROM runs").fetchall()}
    assert runs == {span.trace_id.hex() for span in spans}


def test_keys_schedules_retention_and_compaction_on_a_lake(lake_database: Database) -> None:
    """What a file's primary keys and upserts did, done by the statements: on a lake as on a file."""
    cursor = lake_database.cursor()
    key, principal = create_key(cursor, "acme", "read", "alice")
    assert Keyring.load(cursor).principal(f"Bearer {key}") == principal
    revoke_key(cursor, principal.key_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        Keyring.load(cursor).principal(f"Bearer {key}")
    set_schedule(cursor, "acme", 7, 600)
    set_schedule(cursor, "acme", 3, 60)  # replaced, not added
    assert list(schedules(cursor).values()) == [Schedule("acme", 3, 60)]
    old, new = new_trace_id(), new_trace_id()
    for span in (make_span(trace_id=old, name="old", start=1_000 * SECOND), make_span(trace_id=new, name="new")):
        _commit(lake_database, cursor, [span], "acme")
    assert compact_runs(cursor) == 2
    deleted = retention.delete_expired_now(cursor, "acme", cutoff_ns=10_000 * SECOND)
    assert deleted.runs == 1
    assert cursor.execute("SELECT run_id FROM runs").fetchall() == [(new.hex(),)]


def _open_and_count(db: str, data_path: str, barrier: Any, results: Any) -> None:
    """In a child process: wait for the others, then open the lake and count its runs (or say why not)."""
    barrier.wait(timeout=60)  # every child has imported agentlog: they attach in the same instant
    try:
        database = Database.open(db, data_path=data_path)
        try:
            (runs,) = database.cursor().execute("SELECT count(*) FROM runs").fetchone()
            results.put(int(runs))
        finally:
            database.close()
    except Exception as error:
        results.put(repr(error))


def test_processes_making_a_new_lake_at_once_all_open_it(lake: Lake) -> None:
    """DuckLake's catalog tables, agentlog's sequence and tables, made by whichever process gets there
    first: the others find them (three processes attaching in the same instant)."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(3), context.Queue()
    children = [
        context.Process(target=_open_and_count, args=(lake.db, str(lake.data_path), barrier, results)) for _ in range(3)
    ]
    for child in children:
        child.start()
    opened = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=60)
    assert opened == [0, 0, 0]


def test_a_writer_on_a_lake_compacts_at_most_every_few_seconds(
    lake_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each compaction on a lake costs other collectors' in-flight commits a conflict: an idle writer
    compacts at once on a file, on a lake not before LAKE_COMPACT_SECONDS after its last compaction."""
    monkeypatch.setattr(writer_module, "LAKE_COMPACT_SECONDS", 2.0)
    writer = SpanWriter(lake_database, compact_every=1)
    writer.start()

    async def write_twice() -> list[int]:
        seen = []
        for _ in range(2):
            await writer.write(span_rows(make_request(agent_spans(3))))
            await asyncio.sleep(0.5)  # idle: a writer on a file would compact now
            seen.append(writer.compactions)
        await asyncio.sleep(2.0)
        return [*seen, writer.compactions]

    try:
        assert asyncio.run(write_twice()) == [1, 1, 2]  # the first at once, the second held back, then done
    finally:
        writer.close()
    cursor = lake_database.cursor()
    assert cursor.execute("SELECT count(*) FROM run_partials").fetchone() == (0,)
    assert cursor.execute("SELECT count(*), sum(span_count) FROM run_compacted").fetchone() == (2, 6)


def test_a_retry_two_collectors_stored_at_once_is_kept_once_after_compaction(lake: Lake) -> None:
    """Two collectors committing the same spans at the same instant both store them (neither commit sees
    the other's); the compaction keeps the earliest commit's copy and folds the run again from its spans."""
    first = Database.open(lake.db, data_path=str(lake.data_path))
    second = Database.open(lake.db, data_path=str(lake.data_path), instance="second")
    try:
        spans = agent_spans(4)
        cursors = [first.cursor(), second.cursor()]
        for database, cursor in zip((first, second), cursors, strict=True):
            cursor.execute("BEGIN")
            assert insert_spans(cursor, [span_rows(make_request(spans))], database.next_commit_seq(cursor)) == 4
        for cursor in cursors:
            cursor.execute("COMMIT")
        reader = first.cursor()
        counted = "SELECT count(*), (SELECT node_count FROM run_summaries), (SELECT total_tokens FROM run_summaries)"
        stored, nodes, tokens = reader.execute(f"{counted} FROM stored_spans").fetchone()
        assert (stored, nodes) == (8, 6) and tokens > 0  # both copies, counted twice
        assert compact_runs_once_each(reader) == (2, 4)
        assert reader.execute(f"{counted} FROM stored_spans").fetchone() == (4, 3, tokens // 2)
        (seqs,) = reader.execute("SELECT list(DISTINCT commit_seq) FROM stored_spans").fetchone()
        assert len(seqs) == 1
        assert compact_runs_once_each(reader) == (0, 0)
    finally:
        second.close()
        first.close()


def test_log_records_two_collectors_stored_at_once_are_kept_once_after_compaction(lake: Lake) -> None:
    first = Database.open(lake.db, data_path=str(lake.data_path))
    second = Database.open(lake.db, data_path=str(lake.data_path), instance="second")
    try:
        records = log_rows([make_record(body=f"record {i}") for i in range(3)])
        cursors = [first.cursor(), second.cursor()]
        for database, cursor in zip((first, second), cursors, strict=True):
            cursor.execute("BEGIN")
            assert insert_log_records(cursor, [records], database.next_commit_seq(cursor)) == 3
        for cursor in cursors:
            cursor.execute("COMMIT")
        reader = first.cursor()
        assert reader.execute("SELECT count(*) FROM log_records").fetchone() == (6,)
        assert compact_runs_once_each(reader) == (0, 3)
        assert reader.execute("SELECT count(*), count(DISTINCT body) FROM log_records").fetchone() == (3, 3)
    finally:
        second.close()
        first.close()
