"""Query-string parameters -> typed values, each bad one a 400 that names it.

An empty text filter (``agent_id=``) means no filter; an empty number, date or
choice is not one, and is refused. A parameter the operation does not declare
is refused too (``refuse_unknown``): a misspelt filter must not silently
return everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.datastructures import QueryParams

from agentlog.errors import InvalidRequest
from agentlog.query.timefmt import parse_time

MAX_TEXT = 512
"""Longest filter value accepted: ids and names, not documents."""
_INTEGER = re.compile(r"-?[0-9]{1,18}")
"""ASCII digits only: int() alone would also take other scripts' digits, spaces and underscores."""


def check_declared(params: QueryParams, declared: Mapping[str, Mapping[str, Any]]) -> None:
    """InvalidRequest naming every parameter not in ``declared`` (name -> its OpenAPI schema),
    or the first value that does not match its declared ``pattern``."""
    unknown = sorted(set(params.keys()) - set(declared))
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        takes = ", ".join(sorted(declared)) or "none"
        raise InvalidRequest(f"unknown query parameter{'s' if len(unknown) > 1 else ''} {names} (this takes: {takes})")
    for name, value in params.multi_items():
        pattern = declared[name].get("pattern")
        if pattern is not None and not re.fullmatch(pattern, value):
            what = declared[name].get("description", f"like {pattern}")
            raise InvalidRequest(f"{name} must be {what}; got {value[:80]!r}")


def text(params: QueryParams, name: str) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if len(value) > MAX_TEXT:
        raise InvalidRequest(f"{name} is longer than {MAX_TEXT} characters")
    return value


def integer(params: QueryParams, name: str, default: int, lowest: int, highest: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise InvalidRequest(f"{name} must be an integer in digits 0-9, got {raw!r}")
    value = int(raw)
    if not lowest <= value <= highest:
        raise InvalidRequest(f"{name} must be between {lowest} and {highest}, got {value}")
    return value


def choice(params: QueryParams, name: str, choices: Sequence[str]) -> str | None:
    value = params.get(name)
    if value is not None and value not in choices:
        raise InvalidRequest(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def flag(params: QueryParams, name: str) -> bool:
    """A yes/no parameter: ``true`` or ``false`` (absent: false)."""
    return choice(params, name, ("true", "false")) == "true"


def time(params: QueryParams, name: str) -> int | None:
    value = params.get(name)
    return None if value is None else parse_time(value, name)


def cursor_number(params: QueryParams, name: str) -> int | None:
    """A cursor that is a sequence number (the live feed's); None when absent."""
    raw = text(params, name)
    if raw is None:
        return None
    if not _INTEGER.fullmatch(raw) or raw.startswith("-"):
        raise InvalidRequest(f"{name} must be a cursor this feed sent (a number); got {raw!r}")
    return int(raw)
