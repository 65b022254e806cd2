"""canonical_table (columnar) against normalize (per span) on ingest.py's request, µs per span.

    .venv/bin/python bench/canonical.py            # ~10 s of CPU

Times, in one run on the same 512-span request (``build_template(512, 16)``):

- ``canonical_table``: one call for the whole request, on tables built by the
  test helper (tests/proto/columnar_inputs.py) from decode_spans' attributes;
- ``canonical_table (flatten_request's)``: the same on the columnar decoder's own tables;
- ``flatten_request(b)``: the columnar decoder (the other half of the columnar path);
- ``normalize``: the old path's per-span calls for the same spans;
- ``decode_spans(parse_protobuf(b))``: the old path's whole decode, normalize included.

Each figure is the median of ``--runs`` runs, per span; the calls are alternated run by run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

from agentlog.proto.canonical import canonical_table  # noqa: E402
from agentlog.proto.columnar import flatten_request  # noqa: E402
from agentlog.proto.normalize import normalize  # noqa: E402
from agentlog.proto.otlp import parse_protobuf  # noqa: E402
from agentlog.proto.spans import DEFAULT_MAX_ATTRIBUTE_LENGTH, decode_spans  # noqa: E402
from ingest import build_template  # noqa: E402
from tests.proto.columnar_inputs import from_batch, python_value, tables  # noqa: E402


def medians_us(calls: dict[str, Callable[[], object]], runs: int, spans: int) -> dict[str, float]:
    """Median µs per span of each call, the calls alternated run by run (the machine's load drifts)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1e6 / spans for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=31)
    args = parser.parse_args()
    body = build_template(512, 16).request(0)
    batch = decode_spans(parse_protobuf(body))
    spans = from_batch(batch)
    span_table, attributes, exceptions = tables(spans)
    n, max_length = len(spans), DEFAULT_MAX_ATTRIBUTE_LENGTH
    result = canonical_table(span_table, attributes, exceptions, max_length)
    assert result.to_pylist() == [row._asdict() for row in batch.canonical], "canonical_table != normalize"
    inputs = [
        (s.name, {k: python_value(v) for k, v in s.attributes}, s.status_code, s.status_message, s.start) for s in spans
    ]

    def normalize_all() -> None:
        for name, attrs, code, message, start in inputs:
            normalize(name, attrs, code, message, None, start, max_length)

    flat = flatten_request(body, max_length)
    on_flat = canonical_table(flat.spans, flat.attributes, flat.exceptions, max_length)
    assert on_flat.to_pylist() == [row._asdict() for row in batch.canonical], "on flatten_request's tables"
    calls: dict[str, Callable[[], object]] = {
        "canonical_table": lambda: canonical_table(span_table, attributes, exceptions, max_length),
        "canonical_table (flatten_request's)": lambda: canonical_table(
            flat.spans, flat.attributes, flat.exceptions, max_length
        ),
        "flatten_request(b)": lambda: flatten_request(body, max_length),
        "normalize": normalize_all,
        "decode_spans(parse_protobuf(b))": lambda: decode_spans(parse_protobuf(body)),
    }
    figures = medians_us(calls, args.runs, n)
    print(f"{len(body):,} bytes, {n} spans, {attributes.num_rows} attribute rows, median of {args.runs} runs")
    for name, us in figures.items():
        print(f"  {name:38s} {us:7.2f} µs/span")


if __name__ == "__main__":
    main()
