"""Trace and span ids: 16 and 8 raw bytes on the wire, integers in DuckDB, hex for people.

DuckDB stores a trace id as UHUGEINT and a span id as UBIGINT: fixed-width keys
make the uniqueness index several times cheaper to maintain than 32- and
16-character strings (measured in bench/ingest). Everyone outside the store
sees lowercase hex, as the W3C trace context writes them.
"""

from __future__ import annotations

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8


class InvalidId(ValueError):
    """An id of the wrong length, or all zeros (which W3C trace context calls invalid)."""


def trace_id_to_int(raw: bytes) -> int:
    """A 16-byte trace id as an unsigned 128-bit integer."""
    if len(raw) != TRACE_ID_BYTES:
        raise InvalidId(f"trace_id must be {TRACE_ID_BYTES} bytes, got {len(raw)}")
    value = int.from_bytes(raw, "big")
    if value == 0:
        raise InvalidId("trace_id is all zeros")
    return value


def span_id_to_int(raw: bytes) -> int:
    """An 8-byte span id as an unsigned 64-bit integer."""
    if len(raw) != SPAN_ID_BYTES:
        raise InvalidId(f"span_id must be {SPAN_ID_BYTES} bytes, got {len(raw)}")
    value = int.from_bytes(raw, "big")
    if value == 0:
        raise InvalidId("span_id is all zeros")
    return value


def parent_span_id_to_int(raw: bytes) -> int | None:
    """The parent's span id, or None for a root (empty or all-zero parent)."""
    if not raw:
        return None
    if len(raw) != SPAN_ID_BYTES:
        raise InvalidId(f"parent_span_id must be empty or {SPAN_ID_BYTES} bytes, got {len(raw)}")
    return int.from_bytes(raw, "big") or None


def trace_id_hex(value: int) -> str:
    """32 lowercase hex digits."""
    return f"{value:032x}"


def span_id_hex(value: int) -> str:
    """16 lowercase hex digits."""
    return f"{value:016x}"


def parse_trace_id_hex(text: str) -> int:
    """A trace id given as 32 hex digits (any case) -> integer; InvalidId otherwise."""
    return trace_id_to_int(_unhex(text, TRACE_ID_BYTES, "trace_id"))


def parse_span_id_hex(text: str) -> int:
    """A span id given as 16 hex digits (any case) -> integer; InvalidId otherwise."""
    return span_id_to_int(_unhex(text, SPAN_ID_BYTES, "span_id"))


def _unhex(text: str, size: int, what: str) -> bytes:
    if len(text) != size * 2:
        raise InvalidId(f"{what} must be {size * 2} hex digits, got {len(text)} characters")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InvalidId(f"{what} is not hexadecimal: {text!r}") from None
