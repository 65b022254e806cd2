"""Statements with optional filters: a filter file's lines kept only when their parameters are given.

DuckDB plans every condition of a WHERE, given or not (~0.4 ms a statement
for the unused ones), so the read side puts in only the filter lines whose
``$parameters`` all have values. A filter file (sql/*_filter.sql) holds one
condition per line; the statement names where it goes, ``{<filter file stem>}``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from agentlog.query.statements import read_sql

_PARAMETER = re.compile(r"\$(\w+)")


@functools.cache
def filtered_sql(name: str, filter_name: str, given: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """``name`` with the lines of ``filter_name`` whose parameters are all ``given`` in its
    ``{<filter_name without .sql>}``; and the parameters the statement names, to bind."""
    kept = [line for line in _code(read_sql(filter_name)) if set(_PARAMETER.findall(line)) <= given]
    placeholder = "{" + filter_name.removesuffix(".sql") + "}"
    template = read_sql(name)
    if template.count(placeholder) != 1:  # a statement renamed or a fragment misspelled: fail at once, loudly
        raise ValueError(f"{name} must name {placeholder} once, found it {template.count(placeholder)} times")
    sql = template.replace(placeholder, "\n".join(kept))
    return sql, tuple(sorted({found for line in _code(sql) for found in _PARAMETER.findall(line)}))


def _code(sql: str) -> list[str]:
    return [line for line in sql.splitlines() if not line.lstrip().startswith("--")]


def execute_filtered(
    cursor: Any, name: str, filter_name: str, params: dict[str, Any], reads: Callable[[str], str]
) -> Any:
    """Run ``name`` with the filters whose parameters are not None, reading what ``reads`` makes it read
    (run_compacted directly for a tenant without partials: store.rollups.reads_for). Every parameter the
    statement names outside the filter lines must be in ``params`` (None binds NULL)."""
    sql, names = filtered_sql(name, filter_name, frozenset(key for key, value in params.items() if value is not None))
    return cursor.execute(reads(sql), {key: params[key] for key in names})
