"""The read side's SQL statements: files in ``sql/``, read once when a module loads."""

from __future__ import annotations

import re
from pathlib import Path

from agentlog.store.migrate import view_fragment

SQL_DIR = Path(__file__).parent / "sql"

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
"""A fragment's place in a statement: ``{name}`` (a struct literal ``{a: b}`` is never one)."""


def read_sql(name: str) -> str:
    """``sql/<name>``, with the run's columns (store/views/run_columns.sql) where it names them: {run_columns}."""
    return (SQL_DIR / name).read_text().replace("{run_columns}", view_fragment("run_columns"))


def fill(name: str, fragments: dict[str, str]) -> str:
    """``sql/<name>`` with each ``{placeholder}`` replaced by its fragment.

    Fails loudly (ValueError) when the statement names a placeholder it is not given, or is given one it
    does not name: a renamed fragment must not leave a statement silently unfilled or unfiltered."""
    template = read_sql(name)
    named = set(_PLACEHOLDER.findall(template))
    if named != set(fragments):
        missing, unknown = sorted(named - set(fragments)), sorted(set(fragments) - named)
        raise ValueError(f"{name}: placeholders not given {missing}, given but not in the statement {unknown}")
    return _PLACEHOLDER.sub(lambda match: fragments[match.group(1)], template)
