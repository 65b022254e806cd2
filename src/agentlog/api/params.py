"""Query-string parameters -> typed values, each bad one a 400 that names it.

An empty text filter (``agent_id=``) means no filter; an empty number, date or
choice is not one, and is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import QueryParams

from agentlog.errors import InvalidRequest
from agentlog.query.timefmt import parse_time

MAX_TEXT = 512
"""Longest filter value accepted: ids and names, not documents."""


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
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer, got {raw!r}") from None
    if not lowest <= value <= highest:
        raise InvalidRequest(f"{name} must be between {lowest} and {highest}, got {value}")
    return value


def choice(params: QueryParams, name: str, choices: Sequence[str]) -> str | None:
    value = params.get(name)
    if value is not None and value not in choices:
        raise InvalidRequest(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def time(params: QueryParams, name: str) -> int | None:
    value = params.get(name)
    return None if value is None else parse_time(value, name)
