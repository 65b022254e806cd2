"""Opening the file: small row groups, one instance per file in a process, the catalog's name."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from agentlog.errors import StoreError
from agentlog.store import Database, commit_spans, database_failed
from agentlog.store.database import ROW_GROUP_SIZE
from tests.factories import agent_spans, make_request, span_rows


def _commit(database: Database, spans: int, seq: int) -> None:
    cursor = database.cursor()
    commit_spans(cursor, [span_rows(make_request(agent_spans(spans)), "default")], seq)
    cursor.close()


def _row_groups(database: Database) -> list[int]:
    cursor = database.cursor()
    rows = cursor.execute(
        "SELECT row_group_id, max(count) FROM pragma_storage_info('stored_spans') GROUP BY ALL ORDER BY 1"
    ).fetchall()
    return [count for _, count in rows]


def test_tables_are_written_in_small_row_groups(tmp_path: Path) -> None:
    """A checkpoint rewrites the last partly filled row group: small ones keep each checkpoint short."""
    database = Database.open(tmp_path / "agentlog.duckdb")
    for seq in range(1, 4):
        _commit(database, 4_000, seq)
    database.checkpoint()
    sizes = _row_groups(database)
    assert sum(sizes) == 12_000
    assert max(sizes) <= ROW_GROUP_SIZE
    assert len(sizes) >= 12_000 // ROW_GROUP_SIZE
    database.close()


def test_two_opens_of_one_file_share_it(tmp_path: Path) -> None:
    """As with ``duckdb.connect(path)``: a second open in the same process sees the first one's rows."""
    path = tmp_path / "agentlog.duckdb"
    first = Database.open(path)
    _commit(first, 3, 1)
    second = Database.open(path)
    assert second.cursor().execute("SELECT count(*) FROM stored_spans").fetchone() == (3,)
    first.close()
    assert second.cursor().execute("SELECT count(*) FROM stored_spans").fetchone() == (3,)
    second.close()


def test_the_catalog_is_named_after_the_file(tmp_path: Path) -> None:
    """Analysts' qualified names (``agentlog.main.runs``) mean what they meant with duckdb.connect(path)."""
    database = Database.open(tmp_path / "agentlog.duckdb")
    cursor = database.cursor()
    assert cursor.execute("SELECT current_database()").fetchone() == ("agentlog",)
    assert cursor.execute("SELECT count(*) FROM agentlog.main.runs").fetchone() == (0,)
    database.close()

    named_like_duckdb = Database.open(tmp_path / "memory.duckdb")  # "memory" is the instance's own catalog
    assert named_like_duckdb.cursor().execute("SELECT current_database()").fetchone() == ("memory_store",)
    named_like_duckdb.close()


def test_the_file_is_released_on_close(tmp_path: Path) -> None:
    path = tmp_path / "agentlog.duckdb"
    database = Database.open(path)
    _commit(database, 2, 1)
    database.close()
    with duckdb.connect(str(path), read_only=True) as connection:
        assert connection.execute("SELECT count(*) FROM stored_spans").fetchone() == (2,)


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("not a database")
    with pytest.raises(StoreError, match="cannot open"):
        Database.open(path)


def test_a_failed_checkpoint_is_recognised_as_a_failed_database(tmp_path: Path) -> None:
    path = tmp_path / "agentlog.duckdb"
    database = Database.open(path)
    _commit(database, 2, 1)
    cursor = database.cursor()
    cursor.execute("SET debug_checkpoint_abort = 'before_header'")
    with pytest.raises(duckdb.Error) as failed:
        cursor.execute("CHECKPOINT")
    assert database_failed(failed.value)
    with pytest.raises(duckdb.Error) as refused:
        cursor.execute("SELECT count(*) FROM stored_spans")
    assert database_failed(refused.value)
    assert not database_failed(duckdb.CatalogException("no table"))
    database.close(checkpoint=False)

    reopened = Database.open(path)  # the WAL is replayed
    assert reopened.cursor().execute("SELECT count(*) FROM stored_spans").fetchone() == (2,)
    reopened.close()


def test_plain_duckdb_reads_the_views_of_a_file_agentlog_wrote_whatever_its_name(tmp_path: Path) -> None:
    """Analysts open the file with duckdb itself; the views must not depend on the catalog agentlog used."""
    database = Database.open(tmp_path / "agentlog.duckdb")
    _commit(database, 4, 1)
    database.close()
    renamed = (tmp_path / "agentlog.duckdb").rename(tmp_path / "copy-for-analysis.duckdb")
    with duckdb.connect(str(renamed), read_only=True) as connection:
        assert connection.execute("SELECT count(*), any_value(status) FROM runs").fetchone() == (1, "success")
        assert connection.execute("SELECT count(*) FROM nodes").fetchone() == (3,)
        assert connection.execute("SELECT count(*) FROM spans").fetchone() == (4,)
        assert connection.execute("SELECT count(*) FROM agents").fetchone() == (1,)


def test_queries_spill_beside_the_file(tmp_path: Path) -> None:
    """Not into .tmp in whatever directory the server was started from."""
    path = tmp_path / "agentlog.duckdb"
    database = Database.open(path)
    setting = database.cursor().execute("SELECT current_setting('temp_directory')").fetchone()
    assert setting == (f"{path.resolve()}.tmp",)
    database.close()


@pytest.mark.parametrize("limit", ["128MB", "0.5GB", "1GiB", " 256 mb "])
def test_a_memory_limit_from_128mb_up_is_set(tmp_path: Path, limit: str) -> None:
    (default,) = duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()
    database = Database.open(tmp_path / "limited.duckdb", memory_limit=limit)
    try:
        (setting,) = database.cursor().execute("SELECT current_setting('memory_limit')").fetchone()
        assert setting != default
    finally:
        database.close()


@pytest.mark.parametrize(("limit", "says"), [("64MB", "too small"), ("127.9MB", "too small"), ("lots", "look like")])
def test_a_memory_limit_too_small_to_checkpoint_or_not_a_size_is_refused(tmp_path: Path, limit: str, says: str) -> None:
    with pytest.raises(StoreError, match=says):
        Database.open(tmp_path / "limited.duckdb", memory_limit=limit)
