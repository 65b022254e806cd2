from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator

import pytest

from agentlog.collector.body import MAX_GZIP_MEMBERS, decode_content, read_body
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


def test_every_member_of_a_multi_member_gzip_body_is_inflated() -> None:
    members = gzip.compress(b"first ") + gzip.compress(b"second ") + gzip.compress(b"third")
    assert decode_content(members, "gzip", 100) == b"first second third"
    assert decode_content(members + b"\0" * 10, "x-gzip", 100) == b"first second third"  # padding, as gzip allows


def test_a_body_of_more_gzip_members_than_the_cap_is_invalid() -> None:
    # Each member costs a new inflater on the event loop: a body of 100,000 empty members (2 MiB)
    # took a tenth of a second to inflate, every other request waiting meanwhile.
    member = gzip.compress(b"x", mtime=0)
    assert decode_content(member * MAX_GZIP_MEMBERS, "gzip", 10_000) == b"x" * MAX_GZIP_MEMBERS
    with pytest.raises(InvalidRequest, match=f"more than {MAX_GZIP_MEMBERS} gzip members"):
        decode_content(member * (MAX_GZIP_MEMBERS + 1), "gzip", 10_000)
    empty = gzip.compress(b"", mtime=0)
    with pytest.raises(InvalidRequest, match="gzip members"):
        decode_content(empty * 100_000, "gzip", 10_000)


def test_members_together_count_against_the_inflate_limit() -> None:
    members = gzip.compress(b"a" * 600) + gzip.compress(b"b" * 600)
    with pytest.raises(PayloadTooLarge, match="limit of 1000 bytes"):
        decode_content(members, "gzip", 1000)


def test_members_spanning_many_input_steps_and_output_steps() -> None:
    # Members end at every offset of the input steps; the output crosses several output steps.
    random = bytes(range(256)) * 64
    members = [gzip.compress(random[: 1 + i * 997 % len(random)]) for i in range(300)]
    expected = b"".join(random[: 1 + i * 997 % len(random)] for i in range(300))
    assert len(expected) > 2 * 1024 * 1024
    assert decode_content(b"".join(members), "gzip", len(expected)) == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (gzip.compress(b"spans") + b"trailing garbage", "what follows its first 1 gzip member"),
        (gzip.compress(b"spans") + b"\0\0x", "is not a complete member"),
        (gzip.compress(b"a") + gzip.compress(b"b")[:-4], "what follows its first 1 gzip member"),
    ],
)
def test_data_after_a_gzip_stream_that_is_not_a_member_is_invalid(body: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        decode_content(body, "gzip", 1000)


def test_data_after_a_deflate_stream_is_invalid() -> None:
    with pytest.raises(InvalidRequest, match="data after the end of its deflate stream"):
        decode_content(zlib.compress(b"spans") + b"junk", "deflate", 1000)
    with pytest.raises(InvalidRequest, match="data after the end of its deflate stream"):
        decode_content(zlib.compress(b"a") + zlib.compress(b"b"), "deflate", 1000)


def test_inflated_bytes_are_reserved_as_they_come_and_a_refusal_stops_the_inflating() -> None:
    reserved: list[int] = []
    body = gzip.compress(b"\0" * 5_000_000)
    assert len(decode_content(body, "gzip", 10_000_000, reserved.append)) == 5_000_000
    assert sum(reserved) == 5_000_000
    assert max(reserved) <= 1024 * 1024  # a step at a time, not all at once

    class Refused(Exception):
        pass

    def refuse_past_two_mib(size: int) -> None:
        reserved.append(size)
        if sum(reserved) > 2 * 1024 * 1024:
            raise Refused

    reserved.clear()
    with pytest.raises(Refused):
        decode_content(body, "gzip", 10_000_000, refuse_past_two_mib)
    assert sum(reserved) <= 3 * 1024 * 1024


def test_received_chunks_are_reserved_as_they_arrive() -> None:
    reserved: list[int] = []
    body = asyncio.run(read_body(_chunks(b"ab", b"cde"), None, 10, reserve=reserved.append))
    assert body == b"abcde"
    assert reserved == [2, 3]
