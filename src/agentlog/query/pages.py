"""Opaque cursors: where the next page starts, as a string clients hand back unchanged."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from agentlog.errors import InvalidRequest


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
