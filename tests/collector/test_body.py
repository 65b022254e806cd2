from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator

import pytest

from agentlog.collector.body import decode_content, read_body
from agentlog.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def _read(parts: list[bytes], content_length: str | None, limit: int) -> bytes:
    return asyncio.run(read_body(_chunks(*parts), content_length, limit))


def test_a_body_within_the_limit_is_read_whole() -> None:
    assert _read([b"ab", b"cd"], None, 4) == b"abcd"


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    with pytest.raises(PayloadTooLarge, match="5 bytes exceeds the limit of 4"):
        _read([], "5", 4)


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    with pytest.raises(PayloadTooLarge):
        _read([b"abc", b"de"], None, 4)


def test_a_bad_content_length_is_invalid() -> None:
    with pytest.raises(InvalidRequest, match="Content-Length"):
        _read([], "lots", 4)


def test_gzip_and_deflate_are_inflated() -> None:
    assert decode_content(gzip.compress(b"hello"), "gzip", 10) == b"hello"
    assert decode_content(zlib.compress(b"hello"), "deflate", 10) == b"hello"
    assert decode_content(b"plain", None, 10) == b"plain"
    assert decode_content(b"plain", "identity", 10) == b"plain"


def test_a_bomb_is_refused_without_inflating_it_all() -> None:
    bomb = gzip.compress(b"\0" * 10_000_000)
    with pytest.raises(PayloadTooLarge, match="decompresses to more than the limit of 1000 bytes"):
        decode_content(bomb, "gzip", 1000)


def test_exactly_the_limit_is_accepted() -> None:
    assert len(decode_content(gzip.compress(b"x" * 1000), "gzip", 1000)) == 1000


def test_corrupt_and_truncated_gzip_are_invalid() -> None:
    with pytest.raises(InvalidRequest, match="not valid gzip"):
        decode_content(b"definitely not gzip", "gzip", 1000)
    with pytest.raises(InvalidRequest, match="truncated"):
        decode_content(gzip.compress(b"x" * 500)[:-8], "gzip", 1000)


def test_an_unknown_encoding_is_unsupported() -> None:
    with pytest.raises(UnsupportedMediaType, match="br"):
        decode_content(b"", "br", 10)
