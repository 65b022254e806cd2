from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from agentlog.errors import SchemaTooNew
from agentlog.store import Database, commit_rows, commit_spans, last_commit_seq
from agentlog.store.migrate import current_version, load_migrations, migrate
from agentlog.store.rollups import compact_runs
from agentlog.store.spans import FOLD_RUNS, INSERT_SPANS
from tests.factories import agent_spans, make_request, make_span, new_trace_id, span_rows
from tests.store.before_0018 import (
    commit_log_records_before_18,
    commit_spans_before_18,
    retype_as_today,
    select_as_before_18,
    statement_before_18,
)
from tests.store.test_log_records import log_rows, make_record


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


# What agentlog wrote before schema 16: no cache writes (today's statements, less them).
_CACHE_WRITES = ("cache_write_tokens", "fallback_cache_write_tokens")
INSERT_SPANS_15 = statement_before_18(re.sub(r", cache_write_tokens\b", "", INSERT_SPANS))


def _register_batch(connection: duckdb.DuckDBPyConnection, spans: list[Any]) -> None:
    connection.register(
        "span_batch",
        span_rows(make_request(spans), "default").append_column("row", pa.array(range(len(spans)), pa.int64())),
    )


def _fold_before_16(connection: duckdb.DuckDBPyConnection, commit_seq: int, into: str) -> None:
    """Today's fold of span_batch, appended to ``into`` (a roll-up table of schema 14 or 15) as it was then."""
    # Today's fold appends to run_partials, cache writes included: a temporary table stands in for it.
    connection.execute(f"CREATE OR REPLACE TEMP TABLE folded AS SELECT * FROM {into} LIMIT 0")
    # Today's fold also sets partial_id (its commit_seq); a roll-up table of schema 14 has none.
    for column in (*_CACHE_WRITES, *(() if into == "run_partials" else ("partial_id",))):
        connection.execute(f"ALTER TABLE folded ADD COLUMN {column} BIGINT")
    retype_as_today(connection, "folded", "run_partials")  # and its ids as 0018 made them
    connection.execute(FOLD_RUNS.replace("INSERT INTO run_partials", "INSERT INTO folded"), [commit_seq])
    kept = [name for (name,) in connection.execute(f"SELECT column_name FROM (DESCRIBE {into})").fetchall()]
    connection.execute(f"INSERT INTO {into} BY NAME {select_as_before_18(connection, 'folded', kept)}")
    connection.execute("DROP TABLE folded")


def _as_before_18(cursor: Any, table: str) -> str:
    """SQL: every column of ``table`` with its ids as they were before 0018."""
    columns = [name for (name,) in cursor.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()]
    return select_as_before_18(cursor, table, columns)


def _insert_as_version_14(connection: duckdb.DuckDBPyConnection, spans: list[Any], commit_seq: int) -> None:
    """What agentlog wrote up to schema 14 for a batch of new runs: spans, and run_rollups rows in place."""
    _register_batch(connection, spans)
    connection.execute("BEGIN")
    connection.execute(INSERT_SPANS_15, [commit_seq])
    _fold_before_16(connection, commit_seq, "run_rollups")
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
    for table in ("run_compacted", "run_rollups"):  # as 0014 wrote them: less 0016's columns, 0018's ids
        columns = [name for (name,) in cursor.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()]
        as_14 = select_as_before_18(cursor, table, [name for name in columns if name not in _CACHE_WRITES])
        assert cursor.execute(f"{as_14} ORDER BY trace_id").fetchall() == before
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


def _insert_as_version_15(connection: duckdb.DuckDBPyConnection, spans: list[Any], commit_seq: int, into: str) -> None:
    """What agentlog wrote under schema 15: spans, and a roll-up row in ``into`` (run_partials, or
    run_compacted as a compaction left it), with no cache writes."""
    _register_batch(connection, spans)
    connection.execute("BEGIN")
    connection.execute(INSERT_SPANS_15, [commit_seq])
    _fold_before_16(connection, commit_seq, into)
    connection.execute("COMMIT")
    connection.unregister("span_batch")


def _cached_call(trace_id: bytes, parent: bytes, start: int, cache_write: int | None) -> Any:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": "claude-haiku-4-5",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.cache_read.input_tokens": 200,
        "gen_ai.usage.output_tokens": 50,
    }
    if cache_write is not None:
        attributes["gen_ai.usage.cache_creation.input_tokens"] = cache_write
    return make_span(trace_id=trace_id, parent_span_id=parent, name="chat claude-haiku-4-5", start=start,
                     attributes=attributes)  # fmt: skip


def test_migration_16_adds_cache_writes_to_stored_spans_and_every_roll_up(tmp_path: Path) -> None:
    """0016 adds cache_write_tokens: spans stored under 0015 have none (NULL), runs' sums start at 0
    (compacted and partial rows alike), and later spans' cache writes add up, through the view and
    after compaction."""
    path = tmp_path / "v15.duckdb"
    connection = duckdb.connect(str(path))
    migrate(connection, [m for m in load_migrations() if m.version <= 15])
    compacted, partial = new_trace_id(), new_trace_id()
    agent = {"gen_ai.agent.name": "triage"}
    start = 1_760_000_000_000_000_000  # a day genai-prices has prices for
    roots = {
        t: make_span(trace_id=t, name="invoke_agent triage", start=start, attributes=agent)
        for t in (compacted, partial)
    }
    for seq, (trace_id, into) in enumerate(((compacted, "run_compacted"), (partial, "run_partials")), 1):
        root = roots[trace_id]
        call = _cached_call(trace_id, root.span_id, root.start_time_unix_nano + 1, None)
        _insert_as_version_15(connection, [root, call], seq, into)
    before = {
        table: connection.execute(f"SELECT * FROM {table} ORDER BY trace_id").fetchall()
        for table in ("run_compacted", "run_partials")
    }
    assert [len(rows) for rows in before.values()] == [1, 1]
    connection.close()

    database = Database.open(path)
    cursor = database.cursor()
    assert database.schema_version == load_migrations()[-1].version >= 16
    # The new columns come last, as 0016 added them (the view run_rollups unions the tables by position).
    after = {table: cursor.execute(f"{_as_before_18(cursor, table)} ORDER BY trace_id").fetchall() for table in before}
    assert after == {table: [(*row, 0, 0) for row in rows] for table, rows in before.items()}
    columns = [row[0] for row in cursor.execute("DESCRIBE run_compacted").fetchall()]
    assert columns[-2:] == ["cache_write_tokens", "fallback_cache_write_tokens"]
    assert cursor.execute("SELECT count(*), count(cache_write_tokens) FROM stored_spans").fetchone() == (4, 0)
    assert cursor.execute("SELECT cache_write_tokens FROM spans WHERE node_type = 'llm'").fetchall() == [(None,)] * 2
    runs = "SELECT cache_read_tokens, cache_write_tokens, cost_usd FROM run_summaries ORDER BY run_id"
    old_cost = Decimal("0.00107")  # 800 x $1 + 200 x $0.10 + 50 x $5 per million
    assert cursor.execute(runs).fetchall() == [(200, 0, old_cost)] * 2

    for seq, trace_id in enumerate((compacted, partial), 3):
        root = roots[trace_id]
        call = _cached_call(trace_id, root.span_id, root.start_time_unix_nano + 2, 300)
        commit_spans(cursor, [span_rows(make_request([call]), "default")], seq)
    new_cost = Decimal("0.001145")  # 500 x $1 + 200 x $0.10 + 300 x $1.25 + 50 x $5 per million
    merged = [(400, 300, old_cost + new_cost)] * 2
    assert cursor.execute(runs).fetchall() == merged
    assert compact_runs(cursor) == 3
    assert cursor.execute("SELECT count(*) FROM run_partials").fetchone() == (0,)
    assert cursor.execute(runs).fetchall() == merged
    assert cursor.execute("SELECT cache_write_tokens FROM runs").fetchall() == [(300,)] * 2
    database.close()


def test_migration_18_keeps_every_id_and_roll_up_key(tmp_path: Path) -> None:
    """0018 stores trace ids and record hashes as UUID and roll-up keys as pairs: every id reads back as the
    hex that was sent, a run split over a compacted and a partial row merges as before, NULL STRUCTs stay
    NULL, and the same spans and records sent again are found stored (the duplicate checks compare the
    converted values with freshly written ones)."""
    path = tmp_path / "v17.duckdb"
    connection = duckdb.connect(str(path))
    migrate(connection, [m for m in load_migrations() if m.version <= 17])
    top = bytes.fromhex("ff" * 15 + "01")  # high bits set: a signed or 64-bit conversion would lose them
    first = agent_spans(3, trace_id=top)
    failed = make_span(trace_id=new_trace_id(), name="tool", attributes={"gen_ai.agent.name": "triage"})
    failed.status.code = 2
    commit_spans_before_18(connection, span_rows(make_request([*first, failed])), 1)
    # A compaction of schema 17: each run has one partial, which is its compacted row as it is.
    connection.execute("INSERT INTO run_compacted SELECT * EXCLUDE (partial_id) FROM run_partials")
    connection.execute("DELETE FROM run_partials")
    later = make_span(trace_id=top, parent_span_id=first[0].span_id, name="later step")
    commit_spans_before_18(connection, span_rows(make_request([later])), 2)
    records = [make_record(trace_id=top, span_id=later.span_id, body="in a run"), make_record(body="alone")]
    commit_log_records_before_18(connection, log_rows(records), 2)
    connection.close()

    database = Database.open(path)
    cursor = database.cursor()
    assert database.schema_version == load_migrations()[-1].version >= 18
    spans = cursor.execute("SELECT trace_id, span_id FROM spans ORDER BY start_time").fetchall()
    sent = [*first, failed, later]
    assert sorted(spans) == sorted((s.trace_id.hex(), s.span_id.hex()) for s in sent)
    runs = dict(cursor.execute("SELECT run_id, node_count FROM run_summaries").fetchall())
    assert runs == {top.hex(): 3, failed.trace_id.hex(): 0}
    root, first_error = cursor.execute(
        "SELECT root, first_error FROM run_rollups WHERE trace_id = ?::UUID", [top.hex()]
    ).fetchone()
    assert root["key"] == {"ns": first[0].start_time_unix_nano, "span": int.from_bytes(first[0].span_id, "big")}
    assert first_error is None
    (error_key,) = cursor.execute(
        "SELECT first_error.key FROM run_rollups WHERE trace_id = ?::UUID", [failed.trace_id.hex()]
    ).fetchone()
    assert error_key == {"ns": failed.end_time_unix_nano, "span": int.from_bytes(failed.span_id, "big")}
    logged = cursor.execute("SELECT trace_id, span_id FROM log_records ORDER BY body").fetchall()
    assert logged == [(None, None), (top.hex(), later.span_id.hex())]
    assert commit_rows(cursor, [span_rows(make_request([*first, failed, later]))], [log_rows(records)], 3) == (0, 0)
    database.close()
