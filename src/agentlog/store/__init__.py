"""DuckDB: the schema and its migrations, opening the file, inserts.

Everything that knows DuckDB's SQL dialect or the file's layout lives here,
so that moving to DuckLake later is a change of this one package.
"""

from agentlog.store.database import MEMORY, ROW_GROUP_SIZE, Database, database_failed
from agentlog.store.keys import Keyring
from agentlog.store.log_records import commit_rows, insert_log_records, last_commit, last_log_commit_seq
from agentlog.store.rollups import compact_runs
from agentlog.store.spans import commit_spans, insert_spans, last_commit_seq

DEFAULT_TENANT = "default"
"""The one tenant of a server without API keys; keys name their own."""

__all__ = [
    "DEFAULT_TENANT",
    "MEMORY",
    "ROW_GROUP_SIZE",
    "Database",
    "Keyring",
    "commit_rows",
    "commit_spans",
    "compact_runs",
    "database_failed",
    "insert_log_records",
    "insert_spans",
    "last_commit",
    "last_commit_seq",
    "last_log_commit_seq",
]
