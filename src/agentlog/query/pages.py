"""Opaque cursors: where the next page starts, as a string clients hand back unchanged."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson

from agentlog.errors import InvalidRequest

Row = TypeVar("Row")


def encode_cursor(kind: str, position: dict[str, Any]) -> str:
    """A URL-safe cursor for ``position`` in a listing of ``kind``."""
    raw = orjson.dumps({"k": kind, **position})
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, kind: str) -> dict[str, Any]:
    """The position inside ``cursor``; InvalidRequest for anything not made by ``encode_cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise InvalidRequest("cursor is not valid: pass back the cursor a previous page returned") from None
    if not isinstance(position, dict) or position.pop("k", None) != kind:
        raise InvalidRequest("cursor is not valid for this listing")
    return position


def one_page(
    rows: Sequence[Row], limit: int, kind: str, position_of: Callable[[Row], dict[str, Any]]
) -> tuple[list[Row], str | None]:
    """The first ``limit`` of ``rows`` (read with one more, which tells whether a next page exists) and the
    cursor to the next page, at ``position_of`` its last row; None on the last page."""
    page = list(rows[:limit])
    return page, encode_cursor(kind, position_of(page[-1])) if len(rows) > limit else None
