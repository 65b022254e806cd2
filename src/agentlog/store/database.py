"""Opening the DuckDB file: settings, migrations, and a cursor per thread.

One ``Database`` owns the file read-write for the life of the process; DuckDB
lets no other process open it meanwhile. Each thread that reads or writes
takes its own cursor (DuckDB connections are not shared across threads).

The file is attached to an in-memory DuckDB instance rather than opened with
``duckdb.connect(path)``: only ``ATTACH`` takes a row-group size (see
``ROW_GROUP_SIZE``). The instance is named after the file, so two opens of one
file in one process share it, as ``duckdb.connect(path)`` would.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import duckdb

from agentlog.errors import StoreError
from agentlog.store import lake
from agentlog.store.migrate import create_views, migrate

MEMORY = ":memory:"

# DuckDB checkpoints (folds the WAL into the file) when the WAL passes this
# size. The default 16 MB checkpoints every few group commits under load and
# each one stalls the writer; 64 MB measured ~1.4x more sustained inserts per
# second in bench/ingest while recovery after a crash stays quick.
CHECKPOINT_THRESHOLD = "64MB"

# Rows per row group in the tables agentlog writes (DuckDB's default: 122,880).
# DuckDB rewrites the last, partly filled row group of a table in full at each
# checkpoint, and that checkpoint runs inside an ingest commit: with the
# default, one commit in many stalls for up to a second compressing 122,880
# spans again. In-process, 100 commits of 2,048 spans: 19.5k spans/s with the
# slowest commits at 0.8-1.2 s by default, 24.9k spans/s and 0.3 s at 8,192.
# The price: a checkpoint also writes the row-group list of each table it
# touches, 15x longer at this size; on 10 million spans that is 0.3-0.5 s a
# checkpoint (bench/README.md, ingest and retention).
ROW_GROUP_SIZE = 8192

# A checkpoint compacts row groups that deletes (retention) left sparse, up to
# this many tasks at a time (DuckDB's default: 100); the rest wait for later
# checkpoints. Each checkpoint runs inside an ingest commit, so fewer tasks each
# time means shorter ingest stalls after a cleanup.
MAX_VACUUM_TASKS = 8

# jemalloc keeps freed memory for reuse; past this much it returns it to the OS.
ALLOCATOR_FLUSH_THRESHOLD = "16MB"

# Set on every instance once its file is attached: DuckDB then reads and writes
# only its own files (the database, its WAL, its spill directory) and never
# installs or loads an extension at run time. Without this a name such as
# 'https://host/x.csv' in a query's FROM makes DuckDB fetch the httpfs
# extension, and '/path/file.csv' reads a file of the server. DuckDB refuses to
# turn external access back on while the instance runs, so no later statement
# can undo it. The extensions agentlog uses (json, parquet, icu) are built in.
_CONFINED = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET enable_external_access = false",
)
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)
_UNIT_BYTES = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNIT_BYTES.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})

# The least memory limit agentlog accepts. A checkpoint pins the blocks of the rows it folds into
# the file; at 64MB under full ingest (bench/ingest.py, 32 requests in flight) DuckDB could not pin
# them, the checkpoint failed and DuckDB invalidated the database, stopping the server. 128MB held.
MIN_MEMORY_LIMIT = "128MB"


def _size_bytes(text: str) -> int | None:
    """Bytes in a DuckDB memory size such as ``256MB`` or ``1GiB``; None when it is not one."""
    match = _SIZE.match(text.strip())
    if match is None:
        return None
    return int(float(match.group(1)) * _UNIT_BYTES[match.group(2).lower()])


def _checked_size(text: str) -> str:
    """A DuckDB memory size of at least ``MIN_MEMORY_LIMIT``; anything else is refused before it reaches SQL."""
    size = _size_bytes(text)
    if size is None:
        raise StoreError(f"memory limit must look like 256MB or 1GB, got {text!r}")
    if size < (_size_bytes(MIN_MEMORY_LIMIT) or 0):
        raise StoreError(
            f"memory limit {text.strip()} is too small: DuckDB needs at least {MIN_MEMORY_LIMIT} "
            "to checkpoint under load"
        )
    return text.strip()


class Database:
    """A migrated DuckDB database, file or ``:memory:``."""

    def __init__(self, connection: Any, path: str, catalog: str | None = None) -> None:
        self._connection = connection
        self._catalog = catalog
        self.path = path
        self.is_lake = lake.is_lake(path)
        if self.is_lake:
            self.schema_version = lake.create_schema(connection)
        else:
            self.schema_version = migrate(connection)
            create_views(connection)

    @classmethod
    def open(
        cls, path: str | Path, *, memory_limit: str | None = None, data_path: str | None = None, instance: str = ""
    ) -> Database:
        """Open (creating if needed) and migrate the database at ``path``: a DuckDB file, ``:memory:``,
        or a DuckLake (``ducklake:postgres:<conninfo>``, its Parquet files at ``data_path``; store/lake.py;
        ``instance`` names a DuckDB instance of its own for this open, see ``lake.attach``).

        ``memory_limit`` caps DuckDB's own memory (e.g. ``"256MB"``; it spills to
        disk past it); None leaves DuckDB's default, 80% of the machine."""
        text = str(path)
        if text == MEMORY:
            connection = duckdb.connect(MEMORY)
            catalog = None
        elif lake.is_lake(text):
            connection, catalog = lake.attach(text, data_path, instance)
        else:
            connection, catalog = _attach(Path(text))
        if not lake.is_lake(text):  # a lake's files are Parquet: it has no WAL to checkpoint
            connection.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
            connection.execute(f"SET max_vacuum_tasks = {MAX_VACUUM_TASKS}")
        if memory_limit is not None:
            connection.execute(f"SET memory_limit = '{_checked_size(memory_limit)}'")
            # Give freed memory back to the system soon, so the process's RSS follows the limit.
            connection.execute(f"SET allocator_flush_threshold = '{ALLOCATOR_FLUSH_THRESHOLD}'")
            connection.execute("SET allocator_background_threads = true")
        for statement in _CONFINED:
            connection.execute(statement)
        return cls(connection, text, catalog)

    def cursor(self) -> Any:
        """A new cursor on the same database, for use by one thread."""
        cursor = self._connection.cursor()
        if self._catalog is not None:
            # A new connection starts in the instance's own in-memory catalog.
            cursor.execute(f"USE {_quoted(self._catalog)}")
        return cursor

    def checkpoint(self) -> None:
        """Fold the WAL into the database file (a lake has none: each commit is its files)."""
        if not self.is_lake:
            self._connection.execute("CHECKPOINT")

    def next_commit_seq(self, cursor: Any) -> int | None:
        """The next commit's sequence number where several processes commit (a lake); None for a file,
        whose one writer counts its own."""
        return lake.next_commit_seq(cursor) if self.is_lake else None

    def close(self, *, checkpoint: bool = True) -> None:
        """Checkpoint and close; the file is complete on disk afterwards.

        ``checkpoint=False`` after a fatal error: DuckDB refuses every statement on an
        invalidated database, and the next open replays the WAL instead."""
        if checkpoint and self.path != MEMORY:
            self.checkpoint()
        self._connection.close()


def database_failed(error: BaseException) -> bool:
    """Whether DuckDB invalidated the database: no later statement on it can succeed until it is reopened.

    A fatal error invalidates the whole instance (``FatalException``); a failed checkpoint
    invalidates only the attached file, which DuckDB reports as an IO error that says so."""
    if isinstance(error, duckdb.FatalException):
        return True
    return isinstance(error, duckdb.IOException) and "invalidated" in str(error)


def _attach(path: Path) -> tuple[Any, str]:
    """A connection to the instance holding ``path``, using the file's catalog; attached if need be."""
    path.parent.mkdir(parents=True, exist_ok=True)
    resolved = str(path.resolve())
    # A named in-memory instance is shared by every connect() with that name in this process.
    name = hashlib.sha256(resolved.encode()).hexdigest()[:16]
    connection = duckdb.connect(f":memory:agentlog-{name}")
    try:
        attached = connection.execute("SELECT database_name, path FROM duckdb_databases()").fetchall()
        catalog = next((name for name, attached_path in attached if attached_path == resolved), None)
        if catalog is None:
            catalog = _catalog_name(path, taken={name for name, _ in attached})
            connection.execute(f"ATTACH '{_escaped(resolved)}' AS {_quoted(catalog)} (ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
            # Where queries spill past the memory limit: beside the file, as duckdb.connect(path)
            # does, not in an in-memory instance's default (.tmp in the working directory).
            connection.execute(f"SET temp_directory = '{_escaped(resolved)}.tmp'")
        connection.execute(f"USE {_quoted(catalog)}")
    except duckdb.Error as error:
        connection.close()
        raise StoreError(f"cannot open {path}: {error}") from None
    return connection, catalog


def _catalog_name(path: Path, taken: set[str]) -> str:
    """The file's stem, as ``duckdb.connect(path)`` names its catalog, unless the instance has that name."""
    stem = path.name.split(".")[0] or "agentlog"
    return stem if stem not in taken else f"{stem}_store"


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _escaped(literal: str) -> str:
    return literal.replace("'", "''")
