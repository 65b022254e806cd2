"""Reading an HTTP request body within limits: on the wire, and once decompressed.

The body is read chunk by chunk (the OTel JS exporters send chunked bodies
with no Content-Length) and refused as soon as it passes the limit; a gzip
body is inflated with a cap on its output, so a compression bomb costs at
most the limit in memory. Both steps hand the size of every piece to a
``reserve`` callback as it arrives, which is how intake bounds the bytes of
all requests in flight together (``agentlog.collector.admission``).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from agentlog.errors import InvalidRequest, PayloadTooLarge, RequestTimeout, UnsupportedMediaType

DEFAULT_MAX_BODY_BYTES = 20 * 1024 * 1024
"""Largest body accepted on the wire (HTTP 20 MiB by default; past it, 413)."""

DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
"""Largest body after gzip: generous for text that compresses ~10x, bounded for bombs."""


DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
"""Time a client gets to send its whole body: generous for 20 MiB, fatal to slow-loris clients."""

Reserve = Callable[[int], None]
"""Told the size of each piece of a body as it is read or inflated; raises (``Overloaded``) to refuse it."""


def _unreserved(size: int) -> None:
    """A ``Reserve`` that lets everything in (embedded use, benchmarks of the body alone)."""


async def read_body(
    chunks: AsyncIterator[bytes],
    content_length: str | None,
    max_bytes: int,
    timeout: float = DEFAULT_BODY_TIMEOUT_SECONDS,
    reserve: Reserve = _unreserved,
) -> bytes:
    """The whole body, or PayloadTooLarge as soon as it is known to exceed ``max_bytes``,
    or RequestTimeout when it has not all arrived within ``timeout`` seconds. Each chunk is
    passed to ``reserve`` as it arrives (what is reserved is what was received, so a client
    that declares a large body and sends nothing holds nothing)."""
    try:
        async with asyncio.timeout(timeout):
            return await _read(chunks, content_length, max_bytes, reserve)
    except TimeoutError:
        raise RequestTimeout(f"the request body did not arrive within {timeout:g} s") from None


async def _read(chunks: AsyncIterator[bytes], content_length: str | None, max_bytes: int, reserve: Reserve) -> bytes:
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
        reserve(len(chunk))
        parts.append(chunk)
    return b"".join(parts)


def decode_content(body: bytes, content_encoding: str | None, max_bytes: int, reserve: Reserve = _unreserved) -> bytes:
    """``body`` with its Content-Encoding undone, refusing output past ``max_bytes``.

    Inflated bytes are passed to ``reserve`` as they are produced, a step at
    a time, so that intake can refuse a body (``Overloaded``) before it is all
    inflated. A gzip body may hold several members, as the gzip format
    allows: every one is inflated, up to ``MAX_GZIP_MEMBERS``. Anything after the stream that is not
    another member (or zero padding, which gzip tools ignore) is an
    ``InvalidRequest``, never silently dropped.
    """
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _inflate(body, "deflate" if encoding == "deflate" else "gzip", max_bytes, reserve)
    raise UnsupportedMediaType(f"Content-Encoding {content_encoding!r} is not supported; use gzip or none")


INFLATE_INPUT_STEP = 64 * 1024
"""Compressed bytes handed to zlib at a time. What zlib copies aside between
calls (the input it has not used yet) stays this small, however many gzip
members a body holds."""

MAX_GZIP_MEMBERS = 1000
"""Gzip members one body may hold; past it, ``InvalidRequest``. Senders compress a request as one
member, and joining a few compressed pieces is legitimate; but each member costs a new inflater and
a copy of the input after it, on the event loop, so a body of tiny members (100,000 empty ones fit
in 2 MiB) would hold every other request up for a second. A thousand keeps that to milliseconds."""

INFLATE_OUTPUT_STEP = 1024 * 1024
"""Inflated bytes produced, counted and reserved at a time: a bomb costs at most this past a limit."""


def _inflate(body: bytes, encoding: str, max_bytes: int, reserve: Reserve) -> bytes:
    inflation = _Inflation(encoding, max_bytes, reserve)
    view = memoryview(body)
    for start in range(0, len(view), INFLATE_INPUT_STEP):
        inflation.feed(view[start : start + INFLATE_INPUT_STEP])
    return inflation.result()


class _Inflation:
    """One body's inflation: each member in turn, its output counted against the limit and reserved."""

    def __init__(self, encoding: str, max_bytes: int, reserve: Reserve) -> None:
        self._encoding = encoding
        # wbits: 16+MAX_WBITS reads a gzip header and checks the member's CRC and length;
        # MAX_WBITS reads a zlib header (HTTP's "deflate").
        self._wbits = zlib.MAX_WBITS if encoding == "deflate" else 16 + zlib.MAX_WBITS
        self._max_bytes = max_bytes
        self._reserve = reserve
        self._inflater: Any = zlib.decompressobj(self._wbits)  # None between two gzip members
        self._members_done = 0
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes | memoryview) -> None:
        while data:
            if self._inflater is None:
                data = self._next_member(data)
                if not data:
                    return
            data = self._inflate(data)

    def _inflate(self, data: bytes | memoryview) -> bytes | memoryview:
        """Inflate ``data`` into the current member; what follows the member's end, if it ends."""
        inflater = self._inflater
        while True:
            try:
                part = inflater.decompress(data, INFLATE_OUTPUT_STEP)
            except zlib.error as error:
                raise InvalidRequest(self._invalid(error)) from None
            self._keep(part)
            if inflater.eof:
                self._inflater = None
                self._members_done += 1
                return inflater.unused_data  # type: ignore[no-any-return]
            data = inflater.unconsumed_tail
            if not data and len(part) < INFLATE_OUTPUT_STEP:  # input used up, and no output held back
                return b""

    def _next_member(self, data: bytes | memoryview) -> bytes:
        """``data`` after one member ended: the start of the next member, or b"" for zero padding."""
        if self._encoding == "deflate":
            raise InvalidRequest("body has data after the end of its deflate stream")
        rest = bytes(data).lstrip(b"\0")
        if rest and self._members_done >= MAX_GZIP_MEMBERS:
            raise InvalidRequest(
                f"body has more than {MAX_GZIP_MEMBERS} gzip members; compress a request as one member"
            )
        if rest:
            self._inflater = zlib.decompressobj(self._wbits)
        return rest

    def _invalid(self, error: zlib.error) -> str:
        if not self._members_done:
            return f"body is not valid {self._encoding}: {error}"
        return (
            f"body is not valid gzip: what follows its first {self._members_done} gzip member(s) is neither "
            f"another member nor zero padding ({error})"
        )

    def _keep(self, part: bytes) -> None:
        if not part:
            return
        self._size += len(part)
        if self._size > self._max_bytes:
            raise PayloadTooLarge(f"body decompresses to more than the limit of {self._max_bytes} bytes")
        self._reserve(len(part))
        self._parts.append(part)

    def result(self) -> bytes:
        """The whole inflated body; InvalidRequest when the last member is cut short."""
        if self._inflater is None:
            return b"".join(self._parts)
        if self._members_done:
            raise InvalidRequest(
                f"body is not valid gzip: what follows its first {self._members_done} gzip member(s) "
                "is not a complete member"
            )
        raise InvalidRequest(f"body is truncated {self._encoding} data")
