"""Exporter benchmark: what a node recorded through agentlog costs the agent, against the plain OTel SDK.

Run from the repository root::

    .venv/bin/python bench/exporter.py                    # 40 rounds of 2000 nodes per side
    .venv/bin/python bench/exporter.py --rounds 20 --nodes 1000 --json /tmp/exporter.json

Both sides record the same LLM step inside a run (a root span), on the
agent's thread, with the same ``BatchSpanProcessor`` settings into an
exporter that discards, so what is measured is the cost on the agent's
thread plus whatever the batch thread takes from it (they share the GIL):

* ``otel``: ``tracer.start_as_current_span(name, attributes=...)``, then
  ``span.set_attributes(usage)``: what a careful hand-instrumented agent writes.
* ``agentlog``: ``with agentlog.node(name, type="llm", model=...)`` and
  ``node.record_usage(...)``, through ``agentlog.configure(exporter=...)``:
  live-status markers on (the default), bounded queue, guarded exporter.
* ``agentlog, no markers``: the same with ``pending_spans=False``.

The sides are interleaved round by round (otel, agentlog, agentlog without
markers, then again), so drift on a shared machine hits all of them alike;
the report gives per-round ratios (median and quartiles) and per-node
microseconds, twice: wall-clock, and CPU time of the whole process (both
threads; it moves less when other processes share the machine).
Queues are sized so that nothing is dropped (checked), and the batch thread
is flushed between rounds so no round pays for the previous one's backlog.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import agentlog

MAX_QUEUE_SIZE = 1_000_000  # never full: a drop would make a side look cheaper than it is
BATCH_SIZE = 512
SCHEDULE_DELAY_MS = 1000.0
USAGE = {"input_tokens": 1200, "output_tokens": 80, "cache_read_tokens": 400}


class Discard(SpanExporter):
    """Counts and forgets."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


Round = Callable[[], tuple[float, float]]
"""One round of ``nodes`` nodes: (wall-clock ns, process CPU ns) per node."""


def otel_side(nodes: int) -> tuple[Round, Callable[[], None]]:
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}), shutdown_on_exit=False)
    processor = BatchSpanProcessor(
        Discard(),
        max_queue_size=MAX_QUEUE_SIZE,
        schedule_delay_millis=SCHEDULE_DELAY_MS,
        max_export_batch_size=BATCH_SIZE,
    )
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("bench")
    usage = {
        "gen_ai.usage.input_tokens": USAGE["input_tokens"],
        "gen_ai.usage.output_tokens": USAGE["output_tokens"],
        "gen_ai.usage.cache_read.input_tokens": USAGE["cache_read_tokens"],
    }

    def round_() -> tuple[float, float]:
        with tracer.start_as_current_span(
            "invoke_agent bench", attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "bench"}
        ):
            started, cpu_started = time.perf_counter_ns(), time.process_time_ns()
            for _ in range(nodes):
                with tracer.start_as_current_span(
                    "planner",
                    attributes={
                        "gen_ai.operation.name": "chat",
                        "gen_ai.request.model": "gpt-4o",
                        "gen_ai.provider.name": "openai",
                    },
                ) as span:
                    span.set_attributes(usage)
            elapsed, cpu = time.perf_counter_ns() - started, time.process_time_ns() - cpu_started
        processor.force_flush()
        return elapsed / nodes, cpu / nodes

    return round_, provider.shutdown


def agentlog_side(nodes: int, *, pending_spans: bool) -> tuple[Round, Callable[[], None]]:
    discard = Discard()

    def configure() -> agentlog.Pipeline:
        return agentlog.configure(
            service_name="bench",
            exporter=discard,
            pending_spans=pending_spans,
            max_queue_size=MAX_QUEUE_SIZE,
            max_export_batch_size=BATCH_SIZE,
            schedule_delay_ms=SCHEDULE_DELAY_MS,
        )

    pipeline = configure()

    def round_() -> tuple[float, float]:
        nonlocal pipeline
        # configure() replaces the pipeline: each side's round makes its own current.
        if agentlog.current_pipeline() is not pipeline:
            pipeline = configure()
        with agentlog.run("bench"):
            started, cpu_started = time.perf_counter_ns(), time.process_time_ns()
            for _ in range(nodes):
                with agentlog.node("planner", type="llm", model="gpt-4o", provider="openai") as node:
                    node.record_usage(**USAGE)
            elapsed, cpu = time.perf_counter_ns() - started, time.process_time_ns() - cpu_started
        pipeline.force_flush()
        counts = pipeline.counts()
        assert counts.lost == 0, counts
        return elapsed / nodes, cpu / nodes

    return round_, lambda: pipeline.shutdown()  # noqa: PLW0108 - the pipeline current at the end, not now


def measure(rounds: int, nodes: int) -> dict[str, Any]:
    sides = {
        "otel": otel_side(nodes),
        "agentlog": agentlog_side(nodes, pending_spans=True),
        "agentlog_no_markers": agentlog_side(nodes, pending_spans=False),
    }
    for run_round, _ in sides.values():  # warm-up: imports, caches, first-call costs
        run_round()
    wall: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    gc.collect()
    for _ in range(rounds):
        for name, (run_round, _) in sides.items():
            elapsed, used = run_round()
            wall[name].append(elapsed)
            cpu[name].append(used)
    for _, shutdown in sides.values():
        shutdown()
    return {
        "rounds": rounds,
        "nodes_per_round": nodes,
        "wall_us_per_node_median": {name: statistics.median(times) / 1000 for name, times in wall.items()},
        "cpu_us_per_node_median": {name: statistics.median(times) / 1000 for name, times in cpu.items()},
        "wall_ratio_to_otel": ratios(wall),
        "cpu_ratio_to_otel": ratios(cpu),
    }


def ratios(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Per-round ratio of each agentlog side to the otel side of the same round: median and quartiles."""
    result = {}
    for name, ours in times.items():
        if name == "otel":
            continue
        per_round = [mine / plain for mine, plain in zip(ours, times["otel"], strict=True)]
        low, median, high = statistics.quantiles(per_round, n=4)
        result[name] = {"median": median, "q1": low, "q3": high}
    return result


def machine() -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": sys.version.split()[0],
        "duckdb": duckdb.__version__,
        "platform": platform.platform(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--nodes", type=int, default=2000, help="nodes per round per side")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    result = {"machine": machine(), **measure(args.rounds, args.nodes)}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
