from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from agentlog.errors import SchemaTooNew
from agentlog.store import Database, insert_spans
from agentlog.store.migrate import current_version, load_migrations, migrate
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


def test_runs_stored_before_the_roll_up_index_was_dropped_keep_folding(tmp_path: Path) -> None:
    """0014 rebuilds run_rollups without its key: a run started under 0013 still gets one row."""
    path = tmp_path / "v13.duckdb"
    connection = duckdb.connect(str(path))
    migrate(connection, [m for m in load_migrations() if m.version <= 13])
    trace_id = new_trace_id()
    root = make_span(trace_id=trace_id, name="invoke_agent triage", attributes={"gen_ai.agent.name": "triage"})
    first, later = (make_span(trace_id=trace_id, parent_span_id=root.span_id, name=f"step {i}") for i in range(2))
    connection.execute("BEGIN")
    insert_spans(connection, [span_rows(make_request([root, first]), "default")], 1)
    connection.execute("COMMIT")
    connection.close()

    database = Database.open(path)
    cursor = database.cursor()
    cursor.execute("BEGIN")
    insert_spans(cursor, [span_rows(make_request([later, *agent_spans(3)]), "default")], 2)
    cursor.execute("COMMIT")
    runs = cursor.execute("SELECT agent, node_count FROM run_summaries ORDER BY node_count DESC").fetchall()
    assert sorted(runs) == [("bug-triager", 2), ("triage", 2)]
    assert cursor.execute("SELECT count(*), count(DISTINCT trace_id) FROM run_rollups").fetchone() == (2, 2)
    assert cursor.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'run_rollups' AND constraint_type = 'PRIMARY KEY'"
    ).fetchone() == (0,)
    database.close()
