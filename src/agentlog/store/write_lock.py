"""On a lake, deletes and commits take turns: one PostgreSQL advisory lock shared by every process.

DuckLake counts a delete from a table as conflicting with any insert another process commits into it
meanwhile, however unrelated the rows. Collectors insert spans and roll-ups without pause, so a delete
(a retention batch, a compaction of the roll-ups, repricing) would conflict with one of their commits
every time it tried. So every commit on a lake takes this lock shared, inside its transaction and before
it reads the lake, and every delete takes it exclusive: the delete waits for the commits in flight and
holds new ones back for its length, as a cleanup batch holds a file's one writer.

The lock must be held before the transaction begins: DuckLake takes a transaction's snapshot at BEGIN, and
a delete that began, then waited, would still conflict with the commits it waited for (a delete every 50 ms
beside a writer committing without pause: 2 of 20 committed with the lock taken inside the transaction,
20 of 20 with it taken first, and the writer's commits then met no conflict). So it is a PostgreSQL transaction-level
advisory lock taken by a second DuckDB connection of the same instance, in a transaction of its own
through the catalog database's attachment, which ends after the caller's: released then, or when its
connection drops (a process killed mid-transaction).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CATALOG_DATABASE = "agentlog_catalog_db"
"""The catalog's PostgreSQL database as a lake's DuckDB attaches it (store/lake.py), for the commit sequence
and this lock (never readable through SQL: the console's parse-tree check refuses any catalog-qualified
name)."""
LOCK_KEY = 0x6167656E746C6F67
"""The advisory lock's key ("agentlog" in ASCII), one for the whole catalog database."""


@contextmanager
def held(cursor: Any, *, exclusive: bool) -> Iterator[None]:
    """The lock held (waited for) by another connection of ``cursor``'s DuckDB until the block ends; begin
    the block's transaction inside it."""
    holder = cursor.cursor()
    try:
        holder.execute("BEGIN TRANSACTION")
        try:
            hold(holder, exclusive=exclusive)
            yield
        finally:
            holder.execute("ROLLBACK")  # it wrote nothing; ending its transaction releases the lock
    finally:
        holder.close()


@contextmanager
def deleting(cursor: Any) -> Iterator[None]:
    """On a lake, the lock held exclusive until the block ends (begin the delete's transaction inside it);
    on a file, nothing."""
    if on_lake(cursor):
        with held(cursor, exclusive=True):
            yield
    else:
        yield


def hold(cursor: Any, *, exclusive: bool) -> None:
    """Take the lock in ``cursor``'s open transaction; waits for it."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    query = f"SELECT {function}({LOCK_KEY})::text AS held"
    cursor.execute(f"SELECT * FROM postgres_query('{CATALOG_DATABASE}', '{query}')").fetchall()


def on_lake(cursor: Any) -> bool:
    """Whether ``cursor``'s DuckDB has a lake's catalog database attached."""
    found = cursor.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [CATALOG_DATABASE])
    return bool(found.fetchone()[0])
