"""What reading an OTLP/HTTP body costs the receiver, with and without its guards, in one run.

    .venv/bin/python bench/http_body.py                  # ~10 s
    .venv/bin/python bench/http_body.py --rounds 2000 --json /tmp/http_body.json

The request is bench/ingest.py's (512 agent spans, ~580 kB), arriving in
64 KiB chunks as uvicorn hands them over. Per request, on one core:

- ``unguarded``: the chunks joined under the size limit alone (``body._read``:
  what ``read_body`` did before the slow-client timeout);
- ``read_body``: the same inside ``asyncio.timeout`` (the receiver's path);
- ``gzip``: ``read_body`` plus ``decode_content`` of the gzipped request
  (bounded inflate, the gzip-bomb guard).

Rounds alternate between the variants, and the report gives the ratios to
``unguarded`` measured in the same run. For scale: ``decode_spans`` of the
same request takes ~10 ms (bench/ingest.py's baselines).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import ingest
from agentlog.collector import body
from agentlog.collector.admission import Admission

CHUNK = 64 * 1024
ADMISSION = Admission()  # the default budget: one request at a time never reaches it


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]


async def unguarded(data: bytes) -> bytes:
    return await body._read(_chunks(data), str(len(data)), body.DEFAULT_MAX_BODY_BYTES, body._unreserved)


async def guarded(data: bytes) -> bytes:
    with ADMISSION.hold() as hold:  # the receiver's path: every byte counted against intake's budget
        return await body.read_body(_chunks(data), str(len(data)), body.DEFAULT_MAX_BODY_BYTES, reserve=hold.take)


async def gzipped(data: bytes) -> bytes:
    with ADMISSION.hold() as hold:
        raw = await body.read_body(_chunks(data), str(len(data)), body.DEFAULT_MAX_BODY_BYTES, reserve=hold.take)
        return body.decode_content(raw, "gzip", body.DEFAULT_MAX_DECOMPRESSED_BYTES, reserve=hold.take)


async def _time(fn: Callable[[bytes], Awaitable[bytes]], data: bytes, rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        await fn(data)
    return (time.perf_counter() - started) / rounds * 1e6


async def measure(rounds: int, repeats: int) -> dict[str, object]:
    request = ingest.build_template(512, 16).request(1)
    compressed = gzip.compress(request)
    assert await guarded(request) == request and await gzipped(compressed) == request
    samples: dict[str, list[float]] = {"unguarded": [], "read_body": [], "gzip": []}
    for _ in range(repeats):  # interleaved, so drift on a shared machine hits all alike
        samples["unguarded"].append(await _time(unguarded, request, rounds))
        samples["read_body"].append(await _time(guarded, request, rounds))
        samples["gzip"].append(await _time(gzipped, compressed, rounds))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "request_bytes": len(request),
        "gzip_bytes": len(compressed),
        "us_per_request": medians,
        "ratio_to_unguarded": {name: value / medians["unguarded"] for name, value in medians.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=500, help="requests per timing (default 500)")
    parser.add_argument("--repeats", type=int, default=7, help="timings per variant, interleaved (default 7)")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    report = asyncio.run(measure(args.rounds, args.repeats))
    print(f"request: {report['request_bytes']:,} bytes ({report['gzip_bytes']:,} gzipped), in 64 KiB chunks")
    for name, us in report["us_per_request"].items():  # type: ignore[attr-defined]
        ratio = report["ratio_to_unguarded"][name]  # type: ignore[index]
        print(f"  {name:10s} {us:9.1f} µs per request   {ratio:5.2f}x unguarded")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
