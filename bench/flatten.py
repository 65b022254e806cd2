"""flatten_request (columnar decode) against decode_spans(parse_protobuf(b)), on ingest.py's 512-span request.

    .venv/bin/python bench/flatten.py            # ~15 s of CPU
    .venv/bin/python bench/flatten.py --rounds 40

Each round times, one call each, back to back: ptars alone (bytes -> nested
Arrow), flatten_request (ptars included), and the old path, parse_protobuf +
decode_spans (canonical columns included: it cannot leave them out). Rounds
alternate so that load from elsewhere on the machine hits all three alike;
the figures are medians per span.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import ingest
from agentlog.proto import parse_protobuf
from agentlog.proto.columnar import _handler, flatten_request
from agentlog.proto.spans import decode_spans


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args(argv)
    body = ingest.build_template(512, 16).request(0)
    spans = 512
    stages: dict[str, Callable[[], Any]] = {
        "ptars (bytes -> nested Arrow)": lambda: _handler().list_to_record_batch([body]),
        "flatten_request (ptars included)": lambda: flatten_request(body),
        "old: decode_spans(parse_protobuf(b))": lambda: decode_spans(parse_protobuf(body)),
    }
    for fn in stages.values():  # warm: descriptors compiled, caches filled
        fn()
    times: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(args.rounds):
        for name, fn in stages.items():
            times[name].append(_timed(fn))
    print(f"{len(body)} bytes, {spans} spans, {args.rounds} rounds")
    for name, values in times.items():
        print(f"  {name:40} {statistics.median(values) / spans * 1e6:6.2f} µs/span (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
