"""A DuckLake: the catalog in PostgreSQL, the data as Parquet files on a shared directory or object storage.

``--db 'ducklake:postgres:<libpq conninfo>' --data-path <directory or s3://bucket/prefix>``: every
agentlog process given the same catalog shares one store, on one machine or several.

- The extensions (ducklake, postgres_scanner, httpfs) come with agentlog as Python wheels built for its
  DuckDB, and are loaded from them by path: nothing is downloaded at run time.
- DuckLake has no PRIMARY KEY, UNIQUE or sequences. The lake gets the file's schema as it is after every
  migration (``lake_schema``: the same tables and columns, from the migrations themselves, so the two
  cannot drift) less those; what the constraints did is done by the statements (the markers' insert skips
  keys it finds, a retention schedule is replaced by delete and insert).
- A commit's sequence number is one for the whole lake: taken from a PostgreSQL sequence in the catalog's
  own database (``next_commit_seq``), so two collectors never give one number twice.
- DuckDB still runs with external access off; the lake's data path is the one place it may read and write.
- A commit of few rows stays in the catalog (``INLINING_ROW_LIMIT``), a larger one is a Parquet file per table.
"""

from __future__ import annotations

import hashlib
import importlib.util
import time
from pathlib import Path
from typing import Any

import duckdb
import orjson

from agentlog.errors import SchemaTooNew, StoreError
from agentlog.store.migrate import migrate, view_statements
from agentlog.store.transactions import transaction
from agentlog.store.write_lock import CATALOG_DATABASE

PREFIX = "ducklake:"
CATALOG_PREFIX = "ducklake:postgres:"
LAKE = "lake"
"""The lake's catalog name in agentlog's DuckDB instance."""
COMMIT_SEQUENCE = "agentlog_commit_seq"

INLINING_ROW_LIMIT = 100
"""A table's rows of one commit stay in the catalog (DuckLake's data inlining) up to this many; more are
written as a Parquet file. A quiet collector commits a few spans at a time, and a Parquet file for each
would leave thousands of tiny files an hour; a busy one commits thousands, which PostgreSQL would take
row by row. Inlined rows read as any others, and the lake's upkeep moves them to Parquet."""

ATTACH_ATTEMPTS = 4
"""Tries to attach a lake: processes making a new one at once race in PostgreSQL, and the losers retry."""
ATTACH_BACKOFF_SECONDS = 0.2

EXTENSIONS = (
    ("duckdb_extension_postgres_scanner", "postgres_scanner"),
    ("duckdb_extension_ducklake", "ducklake"),
    ("duckdb_extension_httpfs", "httpfs"),
)
"""(Python package, extension) in the order they load: ducklake's catalog needs postgres_scanner."""

_REMOTE = ("s3://", "s3a://", "gcs://", "gs://", "r2://", "https://", "http://")


def is_lake(db: str) -> bool:
    """Whether ``--db`` names a DuckLake rather than a DuckDB file."""
    return db.startswith(PREFIX)


def extension_path(package: str, name: str) -> Path:
    """The extension file of this DuckDB in its wheel; StoreError naming the wheel when it is missing."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
        if path.exists():
            return path
    wheel = package.replace("_", "-")
    raise StoreError(f"the {name} extension for DuckDB {duckdb.__version__} is missing: pip install {wheel}")


def attach(db: str, data_path: str | None, instance: str = "") -> tuple[Any, str]:
    """A connection to a DuckDB instance with the lake attached and in use, external access off but for
    the data path; and the catalog's name. Opens of one lake in one process share an instance, unless
    ``instance`` names another (the lake's upkeep runs in its own: its long maintenance transactions then
    hold nothing of the instance ingest commits through)."""
    if not db.startswith(CATALOG_PREFIX):
        raise StoreError(f"a lake's --db is 'ducklake:postgres:<libpq conninfo>', got {db!r}")
    conninfo = db.removeprefix(CATALOG_PREFIX)
    if data_path is not None and not data_path.startswith(_REMOTE):
        Path(data_path).mkdir(parents=True, exist_ok=True)
        data_path = str(Path(data_path).resolve())
    name = hashlib.sha256((f"{db}\n{data_path}" + (f"\n{instance}" if instance else "")).encode()).hexdigest()[:16]
    connection = duckdb.connect(f":memory:agentlog-lake-{name}")
    try:
        for attempt in range(ATTACH_ATTEMPTS):
            try:
                _attach_lake(connection, conninfo, data_path)
                break
            except duckdb.Error:
                # Two processes making a new lake at once race to create DuckLake's catalog tables (and
                # agentlog's sequence) in PostgreSQL; the loser finds them made when it looks again.
                if attempt == ATTACH_ATTEMPTS - 1:
                    raise
                time.sleep(ATTACH_BACKOFF_SECONDS * (attempt + 1))
        connection.execute(f"USE {LAKE}")
    except duckdb.Error as error:
        connection.close()
        raise StoreError(f"cannot open the lake {db!r}: {error}") from None
    return connection, LAKE


def _attach_lake(connection: Any, conninfo: str, data_path: str | None) -> None:
    """Load the extensions and attach what is not attached yet (so that it can be called again)."""
    connection.execute("SET autoinstall_known_extensions = false")
    connection.execute("SET autoload_known_extensions = false")
    for package, name in EXTENSIONS:
        connection.execute(f"LOAD '{_escaped(str(extension_path(package, name)))}'")
    attached = {row[0] for row in connection.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    options = [f"DATA_INLINING_ROW_LIMIT {INLINING_ROW_LIMIT}"]
    if data_path:
        options.append(f"DATA_PATH '{_escaped(data_path)}'")
    if LAKE not in attached:
        connection.execute(f"ATTACH '{_escaped(CATALOG_PREFIX + conninfo)}' AS {LAKE} ({', '.join(options)})")
    if CATALOG_DATABASE not in attached:
        connection.execute(f"ATTACH '{_escaped(conninfo)}' AS {CATALOG_DATABASE} (TYPE postgres)")
    create = f"CREATE SEQUENCE IF NOT EXISTS {COMMIT_SEQUENCE}"
    connection.execute(f"CALL postgres_execute('{CATALOG_DATABASE}', '{create}')")
    stored = connection.execute(
        "SELECT value FROM ducklake_options(?) WHERE option_name = 'data_path'", [LAKE]
    ).fetchone()
    where = stored[0] if stored else data_path
    if where:
        where = where if where.endswith("/") else where + "/"
        connection.execute("SET allowed_directories = [?]", [where])


def next_commit_seq(cursor: Any) -> int:
    """The lake's next commit sequence number (one PostgreSQL round trip)."""
    (seq,) = cursor.execute(
        f"SELECT seq FROM postgres_query('{CATALOG_DATABASE}', 'SELECT nextval(''{COMMIT_SEQUENCE}'') AS seq')"
    ).fetchone()
    return int(seq)


def lake_schema(migrated: Any) -> list[str]:
    """CREATE TABLE statements for every table of ``migrated`` (a DuckDB with every migration applied),
    less what DuckLake cannot hold: PRIMARY KEY and UNIQUE constraints and sequence-backed defaults; then
    INSERT for the rows the migrations put in them (such as lake_upkeep's one row; not agentlog_schema's,
    which the lake records itself); then CREATE MACRO for the macros the migrations made (the views' own
    are made with the views)."""
    tables = [
        table
        for (table,) in migrated.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name"
        ).fetchall()
    ]
    seeds = [statement for table in tables if table != "agentlog_schema" for statement in _rows(migrated, table)]
    return [_table_statement(migrated, table) for table in tables] + seeds + _macro_statements(migrated)


def _rows(migrated: Any, table: str) -> list[str]:
    """An INSERT for each row of ``table``: every value as its text, which the column's type reads back
    (text, not Python values: fetching a TIMESTAMPTZ would need pytz)."""
    rows = migrated.execute(f"SELECT CAST(COLUMNS(*) AS VARCHAR) FROM {_quoted(table)}").fetchall()
    return [
        f"INSERT INTO {_quoted(table)} VALUES ({', '.join('NULL' if v is None else _literal(v) for v in row)})"
        for row in rows
    ]


def _literal(text: str) -> str:
    return "'" + _escaped(text) + "'"


def _table_statement(migrated: Any, table: str) -> str:
    columns = migrated.execute(
        """
        SELECT column_name, data_type, is_nullable, column_default
        FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? ORDER BY column_index
        """,
        [table],
    ).fetchall()
    defined = []
    for column, data_type, nullable, default in columns:
        text = f"{_quoted(column)} {data_type}" + ("" if nullable else " NOT NULL")
        if default is not None and not _uses_sequence(migrated, default):
            text += f" DEFAULT {default}"
        defined.append(text)
    return f"CREATE TABLE IF NOT EXISTS {_quoted(table)} ({', '.join(defined)})"


def _macro_statements(migrated: Any) -> list[str]:
    """The migrations' macros as DuckDB holds them (parameters and the parsed definition)."""
    macros = migrated.execute(
        """
        SELECT function_name, parameters, macro_definition FROM duckdb_functions()
        WHERE schema_name = 'main' AND function_type = 'macro' AND NOT internal ORDER BY function_name
        """
    ).fetchall()
    return [
        f"CREATE OR REPLACE MACRO {_quoted(name)}({', '.join(map(_quoted, parameters))}) AS {definition}"
        for name, parameters, definition in macros
    ]


def _uses_sequence(migrated: Any, default: str) -> bool:
    """Whether a column default calls a sequence function, on DuckDB's parse tree of it."""
    (tree,) = migrated.execute("SELECT json_serialize_sql(?)", [f"SELECT {default}"]).fetchone()
    return any(name in _SEQUENCE_FUNCTIONS for name in _function_names(orjson.loads(tree)))


_SEQUENCE_FUNCTIONS = frozenset({"nextval", "currval"})


def _function_names(node: Any) -> list[str]:
    """Every function name in a serialised parse tree."""
    if isinstance(node, list):
        return [name for item in node for name in _function_names(item)]
    if not isinstance(node, dict):
        return []
    own = [node["function_name"]] if node.get("class") == "FUNCTION" else []
    return own + [name for value in node.values() for name in _function_names(value)]


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _escaped(literal: str) -> str:
    return literal.replace("'", "''")


CONFLICT_RETRIES = 5
"""Opens that race to create a new lake's schema: the losers' transactions conflict, and they look again."""


def create_schema(connection: Any) -> int:
    """The lake's tables, created if missing, and its views when they are not this agentlog's; the
    schema version. SchemaTooNew for a lake a newer agentlog made; StoreError for an older one's."""
    migrated = duckdb.connect()
    try:
        version = migrate(migrated)
        statements = lake_schema(migrated)
    finally:
        migrated.close()
    views = view_statements()
    mark = "views " + hashlib.sha256("\n".join(views).encode()).hexdigest()[:16]
    for attempt in range(CONFLICT_RETRIES):
        try:
            with transaction(connection):
                _create_tables(connection, statements, version)
                if connection.execute("SELECT 1 FROM agentlog_schema WHERE name = ?", [mark]).fetchone() is None:
                    for statement in views:
                        connection.execute(statement)
                    connection.execute("INSERT INTO agentlog_schema VALUES (?, ?, now())", [version, mark])
            return version
        except duckdb.TransactionException:
            if attempt == CONFLICT_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _create_tables(connection: Any, statements: list[str], version: int) -> None:
    exists = connection.execute(
        "SELECT 1 FROM duckdb_tables() WHERE database_name = ? AND table_name = 'agentlog_schema'", [LAKE]
    ).fetchone()
    if exists:
        (found,) = connection.execute("SELECT max(version) FROM agentlog_schema").fetchone()
        if found is not None and found > version:
            raise SchemaTooNew(f"this lake is at schema version {found}; this agentlog knows up to {version}")
        if found is not None and found < version:
            raise StoreError(
                f"this lake is at schema version {found}, made by an older agentlog ({version} here): "
                "a lake is not migrated in place; open it with the agentlog that made it"
            )
        return
    for statement in statements:
        connection.execute(statement)
    connection.execute("INSERT INTO agentlog_schema VALUES (?, 'lake schema', now())", [version])
