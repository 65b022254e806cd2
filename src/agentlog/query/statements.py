"""The read side's SQL statements: files in ``sql/``, read once when a module loads."""

from __future__ import annotations

from pathlib import Path

from agentlog.store.migrate import view_fragment

SQL_DIR = Path(__file__).parent / "sql"


def read_sql(name: str) -> str:
    """``sql/<name>``, with the run's columns (store/views/run_columns.sql) where it names them: {run_columns}."""
    return (SQL_DIR / name).read_text().replace("{run_columns}", view_fragment("run_columns"))
