from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from agentlog.errors import SchemaTooNew
from agentlog.store import Database, commit_spans, last_commit_seq
from agentlog.store.migrate import current_version, load_migrations, migrate
from agentlog.store.rollups import compact_runs
from agentlog.store.spans import FOLD_RUNS, INSERT_SPANS
from tests.factories import agent_spans, make_request, make_span, new_trace_id, span_rows


def _write(directory: Path, name: str, sql: str) -> None:
    (directory / name).write_text(sql)


def test_a_new_database_gets_every_migration(db_path: Path) -> None:
    database = Database.open(db_path)
    assert database.schema_version == load_migrations()[-1].version
    database.close()


def test_an_older_database_upgrades_itself_and_keeps_its_rows(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    _write(migrations, "0001_runs.sql", "CREATE TABLE runs (id INTEGER);")
    connection = duckdb.connect(str(tmp_path / "old.duckdb"))
    assert migrate(connection, load_migrations(migrations)) == 1
    connection.execute("INSERT INTO runs VALUES (7)")
    connection.close()

    _write(migrations, "0002_runs_name.sql", "ALTER TABLE runs ADD COLUMN name VARCHAR DEFAULT 'n/a';")
    _write(migrations, "README.txt", "not a migration")
    connection = duckdb.connect(str(tmp_path / "old.duckdb"))
    assert migrate(connection, load_migrations(migrations)) == 2
    assert connection.execute("SELECT id, name FROM runs").fetchall() == [(7, "n/a")]
    assert migrate(connection, load_migrations(migrations)) == 2  # idempotent


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    _write(migrations, "0001_ok.sql", "CREATE TABLE a (x INTEGER);")
    _write(migrations, "0002_broken.sql", "CREATE TABLE b (x INTEGER); SELECT * FROM missing_table;")
    connection = duckdb.connect(":memory:")
    with pytest.raises(duckdb.CatalogException):
        migrate(connection, load_migrations(migrations))
    assert current_version(connection) == 1
    assert connection.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'b'").fetchone() == (
        0,
    )


def test_a_database_from_a_newer_agentlog_is_refused(db_path: Path) -> None:
    Database.open(db_path).close()
    connection = duckdb.connect(str(db_path))
    connection.execute("INSERT INTO agentlog_schema (version, name) VALUES (999, '0999_future')")
    connection.close()
    with pytest.raises(SchemaTooNew, match="schema version 999"):
        Database.open(db_path)


def _insert_as_version_14(connection: duckdb.DuckDBPyConnection, spans: list[Any], commit_seq: int) -> None:
    """What agentlog wrote up to schema 14 for a batch of new runs: spans, and run_rollups rows in place."""
    connection.register(
        "span_batch",
        span_rows(make_request(spans), "default").append_column("row", pa.array(range(len(spans)), pa.int64())),
    )
    connection.execute("BEGIN")
    connection.execute(INSERT_SPANS, [commit_seq])
    # Today's fold appends to run_partials: a temporary one stands in for it under schema 14.
    connection.execute("CREATE OR REPLACE TEMP TABLE run_partials AS SELECT * FROM run_rollups LIMIT 0")
    connection.execute(FOLD_RUNS, [commit_seq])
    connection.execute("INSERT INTO run_rollups BY NAME SELECT * FROM temp.run_partials")
    connection.execute("DROP TABLE temp.run_partials")
    connection.execute("COMMIT")
    connection.unregister("span_batch")


def test_migration_15_keeps_the_stored_roll_ups_as_compacted_rows(tmp_path: Path) -> None:
    """0015 renames run_rollups to run_compacted: a run stored under 0014 keeps its roll-up and later
    spans merge into it, through the view and after compaction alike."""
    path = tmp_path / "v14.duckdb"
    connection = duckdb.connect(str(path))
    migrate(connection, [m for m in load_migrations() if m.version <= 14])
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="invoke_agent triage", attributes={"gen_ai.agent.name": "triage"})
    first, later = (make_span(trace_id=trace_id, parent_span_id=root.span_id, name=f"step {i}") for i in range(2))
    _insert_as_version_14(connection, [root, first], 1)
    _insert_as_version_14(connection, agent_spans(3), 2)
    before = connection.execute("SELECT * FROM run_rollups ORDER BY trace_id").fetchall()
    connection.close()

    database = Database.open(path)
    cursor = database.cursor()
    assert cursor.execute("SELECT * FROM run_compacted ORDER BY trace_id").fetchall() == before
    assert cursor.execute("SELECT * FROM run_rollups ORDER BY trace_id").fetchall() == before
    assert last_commit_seq(cursor) == 2
    commit_spans(cursor, [span_rows(make_request([later]), "default")], 3)
    runs = cursor.execute("SELECT agent, node_count FROM run_summaries ORDER BY node_count DESC").fetchall()
    assert sorted(runs) == [("bug-triager", 2), ("triage", 2)]
    merged = cursor.execute("SELECT * FROM run_rollups ORDER BY trace_id").fetchall()
    assert compact_runs(cursor) == 1
    assert cursor.execute("SELECT count(*), count(DISTINCT trace_id) FROM run_compacted").fetchone() == (2, 2)
    assert cursor.execute("SELECT count(*) FROM run_partials").fetchone() == (0,)
    assert cursor.execute("SELECT * FROM run_rollups ORDER BY trace_id").fetchall() == merged
    database.close()
