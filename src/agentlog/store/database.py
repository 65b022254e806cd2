"""Opening the DuckDB file: settings, migrations, and a cursor per thread.

One ``Database`` owns the file read-write for the life of the process; DuckDB
lets no other process open it meanwhile. Each thread that reads or writes
takes its own cursor (DuckDB connections are not shared across threads).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb

from agentlog.errors import StoreError
from agentlog.store.migrate import create_views, migrate

MEMORY = ":memory:"

# DuckDB checkpoints (folds the WAL into the file) when the WAL passes this
# size. The default 16 MB checkpoints every few group commits under load and
# each one stalls the writer; 64 MB measured ~1.4x more sustained inserts per
# second in bench/ingest while recovery after a crash stays quick.
CHECKPOINT_THRESHOLD = "64MB"

# A checkpoint compacts row groups that deletes (retention) left sparse, up to
# this many tasks at a time (DuckDB's default: 100); the rest wait for later
# checkpoints. Each checkpoint runs inside an ingest commit, so fewer tasks each
# time means shorter ingest stalls after a cleanup.
MAX_VACUUM_TASKS = 8

# jemalloc keeps freed memory for reuse; past this much it returns it to the OS.
ALLOCATOR_FLUSH_THRESHOLD = "16MB"
_SIZE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def _checked_size(text: str) -> str:
    """A DuckDB memory size such as ``256MB``; anything else is refused before it reaches SQL."""
    if not _SIZE.match(text.strip()):
        raise StoreError(f"memory limit must look like 256MB or 1GB, got {text!r}")
    return text.strip()


class Database:
    """A migrated DuckDB database, file or ``:memory:``."""

    def __init__(self, connection: Any, path: str) -> None:
        self._connection = connection
        self.path = path
        self.schema_version = migrate(connection)
        create_views(connection)

    @classmethod
    def open(cls, path: str | Path, *, memory_limit: str | None = None) -> Database:
        """Open (creating if needed) and migrate the database at ``path``.

        ``memory_limit`` caps DuckDB's own memory (e.g. ``"256MB"``; it spills to
        disk past it); None leaves DuckDB's default, 80% of the machine."""
        text = str(path)
        if text != MEMORY:
            Path(text).parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = duckdb.connect(text)
        except duckdb.IOException as error:
            raise StoreError(f"cannot open {text}: {error}") from None
        connection.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
        connection.execute(f"SET max_vacuum_tasks = {MAX_VACUUM_TASKS}")
        if memory_limit is not None:
            connection.execute(f"SET memory_limit = '{_checked_size(memory_limit)}'")
            # Give freed memory back to the system soon, so the process's RSS follows the limit.
            connection.execute(f"SET allocator_flush_threshold = '{ALLOCATOR_FLUSH_THRESHOLD}'")
            connection.execute("SET allocator_background_threads = true")
        return cls(connection, text)

    def cursor(self) -> Any:
        """A new cursor on the same database, for use by one thread."""
        return self._connection.cursor()

    def checkpoint(self) -> None:
        """Fold the WAL into the database file."""
        self._connection.execute("CHECKPOINT")

    def close(self, *, checkpoint: bool = True) -> None:
        """Checkpoint and close; the file is complete on disk afterwards.

        ``checkpoint=False`` after a fatal error: DuckDB refuses every statement on an
        invalidated database, and the next open replays the WAL instead."""
        if checkpoint and self.path != MEMORY:
            self.checkpoint()
        self._connection.close()
