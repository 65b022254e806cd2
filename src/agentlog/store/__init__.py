"""DuckDB: the schema and its migrations, opening the file, inserts.

Everything that knows DuckDB's SQL dialect or the file's layout lives here,
so that moving to DuckLake later is a change of this one package.
"""

from agentlog.store.database import MEMORY, Database
from agentlog.store.spans import insert_spans, last_commit_seq, to_arrow

__all__ = ["MEMORY", "Database", "insert_spans", "last_commit_seq", "to_arrow"]
