"""Query results as dicts keyed by column name: what every read function hands on."""

from __future__ import annotations

from typing import Any


def fetch_dicts(cursor: Any, sql: str, params: dict[str, Any] | list[Any]) -> list[dict[str, Any]]:
    """Run ``sql`` with bound ``params``; each row as a dict of its columns."""
    return dicts(cursor.execute(sql, params))


def dicts(result: Any) -> list[dict[str, Any]]:
    """The rows of an executed statement, each as a dict of its columns."""
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
