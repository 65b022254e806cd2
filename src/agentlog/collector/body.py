"""Reading an HTTP request body within limits: on the wire, and once decompressed.

The body is read chunk by chunk (the OTel JS exporters send chunked bodies
with no Content-Length) and refused as soon as it passes the limit; a gzip
body is inflated with a cap on its output, so a compression bomb costs at
most the limit in memory.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator

from agentlog.errors import InvalidRequest, PayloadTooLarge, RequestTimeout, UnsupportedMediaType

DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024
"""Largest body accepted on the wire (HTTP 20 MiB by default; past it, 413)."""

DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
"""Largest body after gzip: generous for text that compresses ~10x, bounded for bombs."""


DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
"""Time a client gets to send its whole body: generous for 20 MiB, fatal to slow-loris clients."""


async def read_body(
    chunks: AsyncIterator[bytes],
    content_length: str | None,
    max_bytes: int,
    timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS,
) -> bytes:
    """The whole body, or PayloadTooLarge as soon as it is known to exceed ``max_bytes``,
    or RequestTimeout when it has not all arrived within ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            return await _read(chunks, content_length, max_bytes)
    except TimeoutError:
        raise RequestTimeout(f"the request body did not arrive within {timeout:g} s") from None


async def _read(chunks: AsyncIterator[bytes], content_length: str | None, max_bytes: int) -> bytes:
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise InvalidRequest(f"Content-Length is not a number: {content_length!r}") from None
        if declared > max_bytes:
            raise PayloadTooLarge(f"body of {declared} bytes exceeds the limit of {max_bytes} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"body exceeds the limit of {max_bytes} bytes")
        parts.append(chunk)
    return b"".join(parts)


def decode_content(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """``body`` with its Content-Encoding undone, refusing output past ``max_bytes``."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _inflate(body, encoding, max_bytes)
    raise UnsupportedMediaType(f"Content-Encoding {content_encoding!r} is not supported; use gzip or none")


def _inflate(body: bytes, encoding: str, max_bytes: int) -> bytes:
    # wbits: 16+MAX_WBITS reads a gzip header, MAX_WBITS a zlib one (HTTP's "deflate").
    wbits = zlib.MAX_WBITS if encoding == "deflate" else 16 + zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as error:
        raise InvalidRequest(f"body is not valid {encoding}: {error}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"body decompresses to more than the limit of {max_bytes} bytes")
    if not inflater.eof:
        raise InvalidRequest(f"body is truncated {encoding} data")
    return out
