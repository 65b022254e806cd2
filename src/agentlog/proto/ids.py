"""Trace and span ids: 16 and 8 raw bytes on the wire, fixed-width values in DuckDB, hex for people.

DuckDB stores a trace id as a UUID and a span id as UBIGINT: fixed-width keys
compare and join several times faster than 32- and 16-character strings
(measured in bench/ingest). A UUID rather than a 128-bit integer because a
lake keeps its rows in Parquet, where DuckDB writes a UHUGEINT as a DOUBLE; a
UUID is its 16 bytes there, and orders as the unsigned integer of its bytes.
Arrow batches carry a trace id as its 16 bytes (``TRACE_ID_TYPE``), which the
INSERT casts to UUID. Everyone outside the store sees lowercase hex, as the
W3C trace context writes them.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

TRACE_ID_BYTES = 16
SPAN_ID_BYTES = 8
TRACE_ID_TYPE = pa.binary(TRACE_ID_BYTES)
"""A trace id (or any 128-bit key) in an Arrow batch: its big-endian bytes, cast to UUID by DuckDB."""


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


def trace_id_bytes(value: int | None) -> bytes | None:
    """A 128-bit id as the 16 big-endian bytes an Arrow batch carries it as (None stays None)."""
    return None if value is None else value.to_bytes(TRACE_ID_BYTES, "big")


def trace_id_array(words: np.ndarray) -> pa.Array:
    """Ids given as big-endian uint64 word pairs (an (n, 2) array of their values) as ``TRACE_ID_TYPE``."""
    raw = np.ascontiguousarray(words, dtype=">u8").tobytes()
    return pa.FixedSizeBinaryArray.from_buffers(TRACE_ID_TYPE, len(words), [None, pa.py_buffer(raw)])


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
