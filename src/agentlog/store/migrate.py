"""Schema versions: numbered .sql files applied in order, each in its own transaction; then the views.

``migrations/NNNN_name.sql`` is version NNNN. The table ``agentlog_schema``
records what was applied; opening a database applies whatever is newer, so a
file written by an older agentlog upgrades itself. A file written by a newer
agentlog is refused rather than misread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentlog.errors import SchemaTooNew
from agentlog.store.rollups import VIEW_MERGE, compacted

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VIEWS_DIR = Path(__file__).parent / "views"
VIEWS = (
    "ids",
    "run_rollups",
    "times",
    "run_fields",
    "durations",
    "run_summaries",
    "spans",
    "nodes",
    "runs",
    "agents",
    "node_documents",
    "log_records",
)
"""Views (and the macros they share) are not data: each open re-creates them from
``views/<name>.sql``, in this order (a view may read the ones before it), so changing
one needs no migration."""
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_CREATE_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS agentlog_schema (
    version    INTEGER PRIMARY KEY,
    name       VARCHAR NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in ``directory``, by version."""
    found = []
    for path in directory.iterdir():
        match = _FILE_NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), path.stem, path.read_text()))
    found.sort(key=lambda migration: migration.version)
    return found


def current_version(connection: Any) -> int:
    """The newest applied version; 0 for an empty database."""
    connection.execute(_CREATE_VERSION_TABLE)
    row = connection.execute("SELECT coalesce(max(version), 0) FROM agentlog_schema").fetchone()
    return int(row[0])


def migrate(connection: Any, migrations: list[Migration] | None = None) -> int:
    """Apply every migration newer than the database; return the version it is now at."""
    migrations = load_migrations() if migrations is None else migrations
    version = current_version(connection)
    newest = migrations[-1].version if migrations else 0
    if version > newest:
        raise SchemaTooNew(
            f"this database is at schema version {version}; this agentlog knows up to {newest}. "
            "Upgrade agentlog to open it."
        )
    for migration in migrations:
        if migration.version <= version:
            continue
        connection.execute("BEGIN TRANSACTION")
        try:
            connection.execute(migration.sql)
            connection.execute(
                "INSERT INTO agentlog_schema (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        version = migration.version
    return version


def view_fragment(name: str) -> str:
    """A piece of SQL kept once in the views' directory, put into statements that name it: ``{name}``."""
    return (VIEWS_DIR / f"{name}.sql").read_text()


def view_statements(directory: Path = VIEWS_DIR) -> list[str]:
    """The statements that (re)create every view in ``VIEWS`` (and the macros they share), in order."""
    run_columns = view_fragment("run_columns")
    statements = []
    for name in VIEWS:
        sql = (directory / f"{name}.sql").read_text()
        sql = sql.replace("{run_columns}", run_columns).replace("{merge_rollups}", VIEW_MERGE)
        statements.append(sql)
        if name == "run_summaries":  # and the same over run_compacted, for reads with no partials
            statements.append(compacted(sql))
    return statements


def create_views(connection: Any, directory: Path = VIEWS_DIR) -> None:
    """(Re)create every view in ``VIEWS``, in one transaction."""
    statements = view_statements(directory)
    connection.execute("BEGIN TRANSACTION")
    try:
        for sql in statements:
            connection.execute(sql)
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
