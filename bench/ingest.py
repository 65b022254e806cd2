"""Ingest benchmark: sustained OTLP load against a real ``agentlog serve``, and the write path stage by stage.

Run from the repository root::

    .venv/bin/python bench/ingest.py                   # 20 s of gRPC load, 8 requests in flight
    .venv/bin/python bench/ingest.py --transports grpc,http --concurrency 16 --rounds 2 \
        --against '/path/to/older/checkout/.venv/bin/python -m agentlog' --json /tmp/ingest.json

What it measures, in one run on the same data:

* load: ``python -m agentlog serve`` in a subprocess (a fresh database for
  each run), driven over OTLP/gRPC (raw bytes, grpc.aio) or OTLP/HTTP with
  protobuf bodies (httpx) by ``--concurrency`` requests in flight.
  Committed spans/s are spans acknowledged per second; since the server
  acknowledges only after its commit, that is the committed rate. After the
  server stops, the spans in the DuckDB file are counted and must equal the
  acknowledged count exactly. Also: acknowledgement latency, requests
  refused, and the RSS and CPU of the server's whole process tree (the
  server and any decode worker processes), sampled every 0.25 s.
  ``--against`` runs the same load against another agentlog (an older
  checkout), alternated with this one round by round, so the ratio between
  the two is measured on the same machine in the same minutes.
* stages: what each step of the write path costs alone, on one thread of
  this process, on the same requests: the span-by-span decoder it replaced
  (``decode_spans`` + ``to_arrow``, for the ratio), then ``flatten_request``,
  ``canonical_table`` (normalise) and the rest of ``decode_request``, then
  the store in transactions of ``--insert-batch`` requests with automatic
  checkpoints held off: the duplicate check, the insert, the run roll-up,
  the commit, one compaction of the roll-ups, and one checkpoint at the end.
  Process CPU per span counts DuckDB's own threads.

The client is kept cheap (client and server share the machine's cores): one
template request is serialized once, with a 4-byte placeholder inside every
trace and span id; request ``n`` is the template with the placeholder replaced
by ``n`` (same length, so still a valid message, and ids unique over the run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import platform
import queue
import random
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import grpc
import grpc.aio
import httpx
import orjson
import pyarrow
from google.protobuf import __version__ as protobuf_version
from google.protobuf.internal import api_implementation
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

import agentlog
from agentlog.proto import DEFAULT_MAX_ATTRIBUTE_LENGTH, decode_request, parse_protobuf
from agentlog.proto.canonical import canonical_table
from agentlog.proto.columnar import flatten_request
from agentlog.proto.rows import to_arrow
from agentlog.proto.spans import decode_spans
from agentlog.store import DEFAULT_TENANT, Database, compact_runs, insert_spans

EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

PLACEHOLDER = b"\xb7\xe1\x5a\x3c"
"""Stands for the request number inside every id of the template. Four distinct
bytes, so two occurrences can never overlap; ``build_template`` checks that it
occurs exactly once per id and nowhere else."""

TRACE_ID_TAG = b"agentlog"  # first 8 of the 16 trace id bytes; then PLACEHOLDER, then the trace's index
BASE_TIME_NS = 1_795_478_400_000_000_000  # 2026-11-24T00:00:00Z
MiB = 1024 * 1024

# Targets from the issue (2-core machine, gRPC, acknowledged = committed).
TARGET_SPANS_PER_SECOND = 50_000
GOAL_SPANS_PER_SECOND = 100_000
TARGET_RSS_MIB = 512
HTTP_TARGET_SPANS_PER_SECOND = 40_000
RSS_SAMPLE_SECONDS = 0.25


# --------------------------------------------------------------------------- workload

CORPUS = (
    "the agent reads the issue and checks which service owns the failing endpoint before it calls the search "
    "tool with a narrower query then summarises the stack trace compares recent deploys and proposes a fix "
    "with a test that reproduces the timeout under load while keeping the retry budget and the latency "
    "objective of the checkout flow in mind customer reports mention intermittent errors after midnight"
)
WORDS = CORPUS.split()
MODELS = (("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-3-5-sonnet-20241022"))
TOOLS = ("search_code", "read_file", "run_tests", "query_logs", "open_pull_request")
AGENTS = ("bug-triager", "release-notes", "support-replier", "code-reviewer")


def _text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    return " ".join(words)


def _messages(rng: random.Random, role: str, length: int) -> str:
    return orjson.dumps([{"role": role, "parts": [{"type": "text", "content": _text(rng, length)}]}]).decode()


def _any_value(value: Any) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, list):
        out = AnyValue()
        out.array_value.values.extend(_any_value(item) for item in value)
        return out
    raise TypeError(f"no AnyValue for {value!r}")


def _key_values(attributes: dict[str, Any]) -> list[KeyValue]:
    return [KeyValue(key=key, value=_any_value(value)) for key, value in attributes.items()]


def _root_attributes(rng: random.Random, trace: int) -> dict[str, Any]:
    agent = AGENTS[trace % len(AGENTS)]
    return {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": agent,
        "gen_ai.agent.id": f"{agent}-v3",
        "gen_ai.conversation.id": f"conv-{trace:05d}",
        "user.id": f"user-{rng.randrange(10_000):04d}",
        "gen_ai.input.messages": _messages(rng, "user", 300),
        "gen_ai.output.messages": _messages(rng, "assistant", 300),
        "gen_ai.aggregated_usage.input_tokens": rng.randrange(5_000, 50_000),
        "gen_ai.aggregated_usage.output_tokens": rng.randrange(500, 5_000),
        "agent.max_steps": 25,
        "agent.streaming": False,
    }


def _llm_attributes(rng: random.Random, trace: int) -> dict[str, Any]:
    provider, model = MODELS[rng.randrange(len(MODELS))]
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.response.model": model,
        "gen_ai.usage.input_tokens": rng.randrange(200, 8_000),
        "gen_ai.usage.output_tokens": rng.randrange(20, 800),
        "gen_ai.request.temperature": round(rng.random(), 2),
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.conversation.id": f"conv-{trace:05d}",
        "gen_ai.input.messages": _messages(rng, "user", 400),
        "gen_ai.output.messages": _messages(rng, "assistant", 250),
    }


def _tool_attributes(rng: random.Random, trace: int, index: int) -> dict[str, Any]:
    return {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": TOOLS[index % len(TOOLS)],
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": f"call_{trace:05d}_{index:03d}",
        "gen_ai.tool.call.arguments": orjson.dumps({"query": _text(rng, 120), "limit": 20}).decode(),
        "gen_ai.tool.call.result": _text(rng, 400),
        "gen_ai.conversation.id": f"conv-{trace:05d}",
        "tool.duration_ms": round(rng.uniform(5, 2_000), 3),
        "tool.cached": rng.random() < 0.3,
        "retry.attempt": rng.randrange(3),
    }


def _span(trace_id: bytes, span_id: bytes, parent: bytes, name: str, kind: Any, start: int, duration: int) -> Span:
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        kind=kind,
        start_time_unix_nano=start,
        end_time_unix_nano=start + duration,
    )


@dataclass
class Template:
    body: bytes
    spans: int
    traces: int
    ids: int

    def request(self, n: int) -> bytes:
        """Request ``n`` (1 .. 2**32-1): the template with ``n`` inside every id."""
        return self.body.replace(PLACEHOLDER, struct.pack(">I", n))


def build_template(spans_per_request: int, spans_per_trace: int, seed: int = 1) -> Template:
    """An ExportTraceServiceRequest of agent runs: per trace a root ``invoke_agent`` span and its steps."""
    if spans_per_request % spans_per_trace:
        raise SystemExit("--spans-per-request must be a multiple of --spans-per-trace")
    rng = random.Random(seed)
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.extend(
        _key_values(
            {
                "service.name": "agent-fleet",
                "service.version": "2.14.0",
                "deployment.environment": "production",
                "telemetry.sdk.language": "python",
                "telemetry.sdk.name": "opentelemetry",
                "telemetry.sdk.version": "1.38.0",
            }
        )
    )
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = "opentelemetry.instrumentation.genai"
    scope_spans.scope.version = "0.9b0"
    traces = spans_per_request // spans_per_trace
    span_index = 0
    for trace in range(traces):
        trace_id = TRACE_ID_TAG + PLACEHOLDER + struct.pack(">I", trace + 1)
        start = BASE_TIME_NS + trace * 60_000_000_000

        def next_span_id() -> bytes:
            nonlocal span_index
            span_index += 1
            return PLACEHOLDER + struct.pack(">I", span_index)

        root = _span(trace_id, next_span_id(), b"", f"invoke_agent {AGENTS[trace % len(AGENTS)]}", 1, start, 50 * 10**9)
        root.attributes.extend(_key_values(_root_attributes(rng, trace)))
        root.status.code = Status.STATUS_CODE_OK
        children = []
        for step in range(1, spans_per_trace):
            step_start = start + step * 2_000_000_000
            if step % 2:
                attributes = _llm_attributes(rng, trace)
                name, kind, duration = f"chat {attributes['gen_ai.request.model']}", 3, 1_500_000_000
            else:
                attributes = _tool_attributes(rng, trace, step)
                name, kind, duration = f"execute_tool {attributes['gen_ai.tool.name']}", 1, 300_000_000
            child = _span(trace_id, next_span_id(), root.span_id, name, kind, step_start, duration)
            if step == 4 and trace % 4 == 0:  # a tool call in every fourth run fails, with an exception event
                child.status.code = Status.STATUS_CODE_ERROR
                child.status.message = "tool timed out after 30 s"
                event = child.events.add()
                event.name = "exception"
                event.time_unix_nano = step_start + duration
                event.attributes.extend(
                    _key_values({"exception.type": "TimeoutError", "exception.message": "read timed out"})
                )
            child.attributes.extend(_key_values(attributes))
            children.append(child)
        scope_spans.spans.extend([root, *children])
    body = request.SerializeToString()
    # Every span carries its trace id and span id, every child its parent's span id.
    ids = 2 * spans_per_request + (spans_per_request - traces)
    found = body.count(PLACEHOLDER)
    assert len(set(PLACEHOLDER)) == len(PLACEHOLDER), "placeholder bytes must be distinct (no overlaps)"
    assert found == ids, f"placeholder occurs {found} times in the template, expected {ids} (one per id)"
    template = Template(body, spans_per_request, traces, ids)
    _check_request(template, 7)
    return template


def _check_request(template: Template, n: int) -> None:
    """Request ``n`` parses, and its ids carry ``n``."""
    parsed = ExportTraceServiceRequest.FromString(template.request(n))
    spans = [span for rs in parsed.resource_spans for ss in rs.scope_spans for span in ss.spans]
    assert len(spans) == template.spans
    tag = struct.pack(">I", n)
    for span in spans:
        assert span.trace_id[8:12] == tag and span.span_id[:4] == tag
        assert not span.parent_span_id or span.parent_span_id[:4] == tag


# --------------------------------------------------------------------------- statistics


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile of ``values`` (0 <= q <= 100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def per_second(n: float, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("nan")


# --------------------------------------------------------------------------- baselines


STAGES = ("old decode", "flatten", "normalise", "assemble", "duplicates", "insert", "roll-up", "commit",
          "compaction", "checkpoint")  # fmt: skip
"""The write path's stages as the baselines time them; "old decode" is the span-by-span decoder this
replaced (decode_spans + to_arrow), for the ratio."""


@dataclass
class Baselines:
    requests: int
    spans: int
    transactions: int
    cpu_us_per_span: dict[str, float]
    """Process CPU (all threads, DuckDB's included) per span, by stage."""
    wall_us_per_span: dict[str, float]


class _Stopwatch:
    """Adds the wall and process CPU time since the last ``lap`` to the named stage."""

    def __init__(self) -> None:
        self.wall = dict.fromkeys(STAGES, 0.0)
        self.cpu = dict.fromkeys(STAGES, 0.0)
        self.restart()

    def restart(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def split(self) -> tuple[float, float]:
        """(wall, CPU) seconds since the last lap or restart; starts the next."""
        wall, cpu = time.perf_counter(), time.process_time()
        elapsed = wall - self._wall, cpu - self._cpu
        self._wall, self._cpu = wall, cpu
        return elapsed

    def add(self, stage: str, wall: float, cpu: float) -> None:
        self.wall[stage] += wall
        self.cpu[stage] += cpu

    def lap(self, stage: str) -> None:
        self.add(stage, *self.split())


def run_baselines(template: Template, requests: int, insert_batch: int, workdir: Path) -> Baselines:
    """Each stage of the write path on one thread of this process, over the same requests."""
    bodies = [template.request(n) for n in range(1, requests + 1)]
    watch = _Stopwatch()
    tables = [_decode_in_stages(body, watch) for body in bodies]
    for body in bodies:
        watch.restart()
        to_arrow(decode_spans(parse_protobuf(body)), DEFAULT_TENANT)
        watch.lap("old decode")
    del bodies
    gc.collect()
    transactions = _store_in_stages(tables, insert_batch, workdir / "baseline.duckdb", watch)
    spans = requests * template.spans
    return Baselines(
        requests=requests,
        spans=spans,
        transactions=transactions,
        cpu_us_per_span={stage: 1e6 * seconds / spans for stage, seconds in watch.cpu.items()},
        wall_us_per_span={stage: 1e6 * seconds / spans for stage, seconds in watch.wall.items()},
    )


def _decode_in_stages(body: bytes, watch: _Stopwatch) -> pyarrow.Table:
    """decode_request's cost split into its stages: flatten, normalise, and the rest ("assemble": the
    tenant column and the table), which is the whole call less the first two timed alone."""
    watch.restart()
    flat = flatten_request(body, DEFAULT_MAX_ATTRIBUTE_LENGTH)
    flatten = watch.split()
    canonical_table(flat.spans, flat.attributes, flat.exceptions, DEFAULT_MAX_ATTRIBUTE_LENGTH)
    normalise = watch.split()
    decoded = decode_request(body, "protobuf", DEFAULT_TENANT, DEFAULT_MAX_ATTRIBUTE_LENGTH)
    whole = watch.split()
    watch.add("flatten", *flatten)
    watch.add("normalise", *normalise)
    watch.add("assemble", *(max(0.0, w - f - n) for w, f, n in zip(whole, flatten, normalise, strict=True)))
    assert decoded.table is not None and not decoded.rejected
    return decoded.table


def _store_in_stages(tables: list[pyarrow.Table], insert_batch: int, path: Path, watch: _Stopwatch) -> int:
    """The writer's transactions of ``insert_batch`` requests, automatic checkpoints held off, then one
    compaction of the run roll-ups and one checkpoint, each timed."""
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    database = Database.open(path)
    cursor = database.cursor()
    cursor.execute("SET checkpoint_threshold = '100GB'")
    transactions = 0
    for start in range(0, len(tables), insert_batch):
        watch.restart()
        cursor.execute("BEGIN TRANSACTION")
        insert_spans(cursor, tables[start : start + insert_batch], transactions + 1, lap=watch.lap)
        cursor.execute("COMMIT")
        watch.lap("commit")
        transactions += 1
    watch.restart()
    compact_runs(cursor)
    watch.lap("compaction")
    cursor.execute("CHECKPOINT")
    watch.lap("checkpoint")
    cursor.close()
    database.close(checkpoint=False)
    return transactions


# --------------------------------------------------------------------------- the server under test

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _proc_status(pid: int) -> dict[str, int]:
    """The kB figures of /proc/<pid>/status (VmRSS, VmHWM, ...)."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            figures[key] = int(parts[0])
    return figures


def system_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all CPUs; the first line of /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def _cpu_seconds(stat_path: str) -> float:
    """utime + stime of a /proc/.../stat file, in seconds."""
    fields = Path(stat_path).read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_tree(pid: int) -> list[int]:
    """``pid`` and every process under it, pids."""
    pids, index = [pid], 0
    while index < len(pids):
        for task in Path(f"/proc/{pids[index]}/task").glob("*/children"):
            try:
                pids.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
        index += 1
    return pids


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its living children (what exited is not counted)."""
    total = 0.0
    for each in process_tree(pid):
        try:
            total += _cpu_seconds(f"/proc/{each}/stat")
        except OSError:
            continue
    return total


class Server:
    """``python -m agentlog serve`` in a subprocess on ephemeral loopback ports."""

    def __init__(self, command: str, db_path: Path | str, log_path: Path, startup_timeout: float = 60.0) -> None:
        self._log = log_path.open("wb")
        serve = ["--verbose", "serve", "--db", str(db_path), "--grpc-port", "0", "--http-port", "0", "--api-port", "0"]
        self.process = subprocess.Popen(
            [*shlex.split(command.replace("{python}", sys.executable)), *serve],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self.pid = self.process.pid
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.http_port = 0
        self.grpc_port = self._wait_ready(startup_timeout)

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _wait_ready(self, timeout: float) -> int:
        """The gRPC port once the server is ready (0 for an API-only server: ``--no-ingest``)."""
        deadline = time.monotonic() + timeout
        port = None
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"server did not get ready within {timeout:.0f} s: {self.output}") from None
            if line is None:
                raise RuntimeError(f"server exited during startup: {self.output}; see {self._log.name}")
            self.output.append(line)
            match = re.search(r"OTLP/gRPC on \S+:(\d+)$", line)
            if match:
                port = int(match.group(1))
            match = re.search(r"OTLP/HTTP on http://\S+:(\d+)/v1/traces$", line)
            if match:
                self.http_port = int(match.group(1))
            if "no OTLP ports" in line:
                port = 0
            if "ready" in line and port is not None:
                return port

    def rss_kib(self) -> dict[str, int]:
        return _proc_status(self.pid)

    def cpu_seconds(self) -> float:
        return _cpu_seconds(f"/proc/{self.pid}/stat")

    def tree(self) -> list[int]:
        """The server and every process under it (its decode workers), pids."""
        return process_tree(self.pid)

    def tree_rss_mib(self) -> float:
        """VmRSS of the whole process tree, MiB (pages shared between them counted in each)."""
        total = 0
        for pid in self.tree():
            try:
                total += _proc_status(pid).get("VmRSS", 0)
            except OSError:
                continue
        return total / 1024

    def tree_cpu_seconds(self) -> float:
        """CPU seconds of the server and its living children (workers live as long as the server)."""
        return tree_cpu_seconds(self.pid)

    def thread_cpu_seconds(self) -> dict[int, float]:
        """CPU seconds per thread id (the main thread, which runs the event loop, has tid == pid)."""
        seconds = {}
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                seconds[int(task.name)] = _cpu_seconds(str(task / "stat"))
            except (FileNotFoundError, ProcessLookupError):
                continue
        return seconds

    def stop(self, timeout: float = 120.0) -> tuple[float, int | None, int | None]:
        """SIGINT, wait for exit; returns (seconds to stop, spans committed, transactions) as the server says."""
        started = time.perf_counter()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"server did not stop within {timeout:.0f} s after SIGINT") from None
        finally:
            self._log.close()
        seconds = time.perf_counter() - started
        while (line := self.lines.get(timeout=5)) is not None:
            self.output.append(line)
        committed = transactions = None
        for line in self.output:
            match = re.search(r"stopped; (\d+) spans committed", line)
            if match:
                committed = int(match.group(1))
        # --verbose: the server logs "stopped: N spans and M log records committed in T transactions"
        logged = Path(self._log.name).read_text()
        match = re.search(r"stopped: \d+ spans and \d+ log records committed in (\d+) transactions", logged)
        if match:
            transactions = int(match.group(1))
        return seconds, committed, transactions


# --------------------------------------------------------------------------- load


@dataclass
class LoadStats:
    acked_requests: int = 0
    acked_spans: int = 0
    refused: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    partial_rejected_spans: int = 0
    # (ack time, latency of the call that succeeded, latency from the first attempt) per request
    acks: list[tuple[float, float, float]] = field(default_factory=list)
    first_send: float = 0.0
    last_ack: float = 0.0


class _Refused(Exception):
    """The server refused the request as overloaded (gRPC UNAVAILABLE, HTTP 503): retry it."""


class _Failed(Exception):
    """Any other error answer: counted, not retried."""


Send = Callable[[bytes], Awaitable[bytes]]


@contextlib.asynccontextmanager
async def _grpc_sender(server: Server, concurrency: int) -> AsyncIterator[Send]:
    """OTLP/gRPC: raw request bytes on one channel; the response bytes back."""
    options = [("grpc.max_send_message_length", 64 * MiB), ("grpc.max_receive_message_length", 64 * MiB)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}", options=options) as channel:
        await asyncio.wait_for(channel.channel_ready(), timeout=30)
        export = channel.unary_unary(EXPORT)  # no serializers: bytes in, bytes out

        async def send(body: bytes) -> bytes:
            try:
                response: bytes = await export(body, timeout=60)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.UNAVAILABLE:
                    raise _Refused from error
                raise _Failed(f"{error.code().name}: {error.details()}") from error
            return response

        yield send


@contextlib.asynccontextmanager
async def _http_sender(server: Server, concurrency: int) -> AsyncIterator[Send]:
    """OTLP/HTTP with protobuf bodies: one keep-alive connection per request in flight."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/x-protobuf"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.http_port}", timeout=60, limits=limits) as client:

        async def send(body: bytes) -> bytes:
            response = await client.post("/v1/traces", content=body, headers=headers)
            if response.status_code == 503:
                raise _Refused
            if response.status_code != 200:
                raise _Failed(f"HTTP {response.status_code}: {response.text[:200]}")
            return response.content

        yield send


SENDERS = {"grpc": _grpc_sender, "http": _http_sender}


async def _drive(
    transport: str,
    template: Template,
    concurrency: int,
    warmup: float,
    seconds: float,
    retry_pause: float,
    server: Server,
    on_measure_start: Any,
) -> dict[str, Any]:
    """Keep ``concurrency`` requests in flight for ``warmup + seconds``; figures over the last ``seconds``."""
    stats = LoadStats()
    numbers = itertools.count(1)
    rss_timeline: list[tuple[float, float, float]] = []  # (seconds since the load started, server, tree VmRSS MiB)
    async with SENDERS[transport](server, concurrency) as send:
        loop_start = time.perf_counter()
        measure_start = loop_start + warmup
        deadline = measure_start + seconds
        stats.first_send = loop_start

        async def worker() -> None:
            while time.perf_counter() < deadline:
                body = template.request(next(numbers))
                first_attempt = time.perf_counter()
                while True:
                    attempt = time.perf_counter()
                    try:
                        response = await send(body)
                    except _Refused as error:
                        if server.process.poll() is not None:
                            raise RuntimeError(f"the server exited with status {server.process.returncode}") from error
                        stats.refused += 1
                        await asyncio.sleep(retry_pause)
                        continue
                    except _Failed as error:
                        stats.errors[str(error)] += 1
                        break
                    acked = time.perf_counter()
                    if response:  # an empty response means every span was stored
                        stats.partial_rejected_spans += ExportTraceServiceResponse.FromString(
                            response
                        ).partial_success.rejected_spans
                    stats.acked_requests += 1
                    stats.acked_spans += template.spans
                    stats.acks.append((acked, acked - attempt, acked - first_attempt))
                    stats.last_ack = max(stats.last_ack, acked)
                    break

        async def sampler() -> None:
            while True:
                rss = server.rss_kib().get("VmRSS", 0) / 1024
                tree = server.tree_rss_mib()
                rss_timeline.append((round(time.perf_counter() - loop_start, 2), round(rss, 1), round(tree, 1)))
                await asyncio.sleep(RSS_SAMPLE_SECONDS)

        async def mark_measure_start() -> tuple[float, float, float, float]:
            await asyncio.sleep(max(0.0, measure_start - time.perf_counter()))
            on_measure_start()
            return time.perf_counter(), time.process_time(), server.tree_cpu_seconds(), system_cpu_seconds()

        sampling = asyncio.create_task(sampler())
        marking = asyncio.create_task(mark_measure_start())
        workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
        await asyncio.sleep(max(0.0, deadline - time.perf_counter()))
        end_marks = time.perf_counter(), time.process_time(), server.tree_cpu_seconds(), system_cpu_seconds()
        start_marks = await marking
        await asyncio.gather(*workers)
        sampling.cancel()
    return _summarise_load(stats, template, start_marks, end_marks, rss_timeline)


def _summarise_load(
    stats: LoadStats,
    template: Template,
    start_marks: tuple[float, float, float, float],
    end_marks: tuple[float, float, float, float],
    rss_timeline: list[tuple[float, float, float]],
) -> dict[str, Any]:
    window_start, client_cpu_start, server_cpu_start, system_cpu_start = start_marks
    window_end, client_cpu_end, server_cpu_end, system_cpu_end = end_marks
    client_cpu, server_cpu = client_cpu_end - client_cpu_start, server_cpu_end - server_cpu_start
    window = window_end - window_start
    in_window = [ack for ack in stats.acks if window_start <= ack[0] < window_end]
    buckets = Counter(int(ack[0] - window_start) for ack in in_window)
    per_second_rates = [buckets.get(second, 0) * template.spans for second in range(int(window))]
    return {
        "window_seconds": window,
        "committed_spans_per_s": per_second(len(in_window) * template.spans, window),
        "overall_spans_per_s": per_second(stats.acked_spans, stats.last_ack - stats.first_send),
        "overall_seconds": stats.last_ack - stats.first_send,
        "per_second_min": min(per_second_rates, default=0),
        "per_second_median": percentile([float(rate) for rate in per_second_rates], 50),
        "per_second_max": max(per_second_rates, default=0),
        "per_second": per_second_rates,
        "ack_latency_ms_p50": 1000 * percentile([ack[2] for ack in in_window], 50),
        "ack_latency_ms_p99": 1000 * percentile([ack[2] for ack in in_window], 99),
        "ack_latency_ms_max": 1000 * max((ack[2] for ack in in_window), default=float("nan")),
        "call_latency_ms_p50": 1000 * percentile([ack[1] for ack in in_window], 50),
        "call_latency_ms_p99": 1000 * percentile([ack[1] for ack in in_window], 99),
        "acked_requests": stats.acked_requests,
        "acked_spans": stats.acked_spans,
        "requests_refused": stats.refused,
        "errors": dict(stats.errors),
        "partial_rejected_spans": stats.partial_rejected_spans,
        "client_cpu_cores": client_cpu / window,
        "server_cpu_cores": server_cpu / window,
        # Everything else running on the machine meanwhile: the noise.
        "other_cpu_cores": max(0.0, system_cpu_end - system_cpu_start - client_cpu - server_cpu) / window,
        "server_rss_mib_timeline": rss_timeline,
        "tree_rss_peak_mib": max((sample[2] for sample in rss_timeline), default=0.0),
    }


def _start_profiler(pid: int, seconds: float, output: Path, rate: int, idle: bool) -> subprocess.Popen[bytes]:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    return subprocess.Popen(
        [
            py_spy, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))), "--rate", str(rate),
            "--format", "raw", "--threads", "--nonblocking", "--output", str(output), *(["--idle"] if idle else []),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def summarise_profile(path: Path, top: int) -> dict[str, Any]:
    """Samples per thread; self time per source line (which SQL statement, which loop); inclusive time per
    agentlog function (line numbers dropped)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [frame for frame in stack.split(";") if frame]
        if not frames:
            continue
        count = int(count_text)
        thread = frames[0] if frames[0].startswith(("thread", "process")) else "?"
        frames = [frame for frame in frames if not frame.startswith(("thread", "process"))]
        if not frames:
            continue
        total += count
        threads[thread] += count
        own[frames[-1]] += count
        for function in {re.sub(r":\d+\)$", ")", frame) for frame in frames if "(agentlog/" in frame}:
            inclusive[function] += count
    return {
        "samples": total,
        "threads": threads.most_common(),
        "self": [(frame, count, _source_line(frame)) for frame, count in own.most_common(top)],
        "inclusive": inclusive.most_common(top),
    }


def _source_line(frame: str) -> str:
    """The code of an agentlog frame such as ``insert_spans (agentlog/store/spans.py:137)``; else empty."""
    match = re.search(r"\((agentlog/[^:]+):(\d+)\)$", frame)
    if not match:
        return ""
    source = Path(agentlog.__file__).resolve().parent.parent / match.group(1)
    try:
        return source.read_text().splitlines()[int(match.group(2)) - 1].strip()
    except (OSError, IndexError):
        return ""


def run_load(
    args: argparse.Namespace, template: Template, workdir: Path, command: str, transport: str
) -> dict[str, Any]:
    """One load run: a fresh server started by ``command`` on a new database, driven over ``transport``."""
    db_path = workdir / "bench.duckdb"
    for stale in (db_path, db_path.with_name(db_path.name + ".wal")):
        stale.unlink(missing_ok=True)
    server = Server(command, db_path, workdir / "server.log")
    profiler: subprocess.Popen[bytes] | None = None
    profile_path = Path(args.profile) if args.profile else None

    def on_measure_start() -> None:
        nonlocal profiler
        if profile_path is not None:
            profiler = _start_profiler(server.pid, args.seconds, profile_path, args.profile_rate, args.profile_idle)

    try:
        result = asyncio.run(
            _drive(
                transport,
                template,
                args.concurrency,
                args.warmup,
                args.seconds,
                args.retry_pause,
                server,
                on_measure_start,
            )
        )
        status = server.rss_kib()
        threads = server.thread_cpu_seconds()
        if profiler is not None:
            profiler.wait(timeout=args.seconds + 30)
    finally:
        stop_seconds, server_committed, transactions = server.stop()

    result["server_rss_peak_mib"] = status.get("VmHWM", 0) / 1024
    result["server_rss_end_mib"] = status.get("VmRSS", 0) / 1024
    result["server_threads_cpu_seconds"] = sorted(
        ((("main" if tid == server.pid else str(tid)), round(cpu, 2)) for tid, cpu in threads.items()),
        key=lambda item: -item[1],
    )
    result["transport"] = transport
    result["command"] = command
    result["server_stop_seconds"] = stop_seconds
    result["server_reported_committed"] = server_committed
    result["server_transactions"] = transactions
    result["spans_per_transaction"] = per_second(server_committed or 0, transactions or 0)
    # The documented names (``spans``, ``runs``): tables or views, whatever the schema version.
    with duckdb.connect(str(db_path), read_only=True) as connection:
        spans_row = connection.execute("SELECT count(*) FROM spans").fetchone()
        runs_row = connection.execute("SELECT count(*), sum(node_count) FROM runs").fetchone()
    assert spans_row is not None and runs_row is not None
    result["db_spans"] = int(spans_row[0])
    result["db_runs"], result["db_run_nodes"] = int(runs_row[0]), int(runs_row[1] or 0)
    result["db_bytes"] = db_path.stat().st_size
    # Every span acknowledged is stored once; every trace is one run whose nodes are its non-root spans.
    result["db_matches_acked"] = (
        result["db_spans"] == result["acked_spans"]
        and result["db_runs"] == result["acked_requests"] * template.traces
        and result["db_run_nodes"] == result["acked_spans"] - result["db_runs"]
    )
    if profile_path is not None and profile_path.exists():
        result["profile"] = summarise_profile(profile_path, args.profile_top)
        result["profile_path"] = str(profile_path)
    return result


# --------------------------------------------------------------------------- report


def agentlog_source() -> dict[str, Any]:
    """Which agentlog is measured: its path, and the git commit when it is a checkout (dirty: src/ has edits)."""
    src = Path(agentlog.__file__).resolve().parent
    info: dict[str, Any] = {"path": str(src)}
    try:
        commit = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--", "."], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return info
    info["commit"] = commit + ("-dirty" if dirty else "")
    return info


def machine() -> dict[str, Any]:
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    meminfo = {line.split(":")[0]: line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()}
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(int(meminfo["MemTotal"]) / MiB, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "grpcio": grpc.__version__,
        "protobuf": f"{protobuf_version} ({api_implementation.Type()})",
        "pyarrow": pyarrow.__version__,
        "loadavg_at_start": os.getloadavg(),
    }


def _rate(value: float) -> str:
    return f"{value:>12,.0f} spans/s"


def print_report(report: dict[str, Any]) -> None:
    m, w = report["machine"], report["workload"]
    print(f"\nmachine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB; Python {m['python']}, ", end="")
    print(f"DuckDB {m['duckdb']}, grpcio {m['grpcio']}, protobuf {m['protobuf']}, pyarrow {m['pyarrow']}")
    print(f"agentlog: {report['agentlog'].get('commit', '?')} ({report['agentlog']['path']})")
    print(
        f"workload: {w['spans_per_request']} spans/request ({w['traces_per_request']} traces of "
        f"{w['spans_per_trace']}), {w['request_bytes']:,} bytes/request ({w['bytes_per_span']:.0f} B/span)"
    )
    b = report.get("baselines")
    if b:
        print(f"\nstages (one thread, DuckDB's own threads counted; {b['spans']:,} spans = {b['requests']} requests, "
              f"{b['transactions']} transactions; process CPU and wall µs per span):")  # fmt: skip
        for stage in STAGES:
            print(f"  {stage:<12} {b['cpu_us_per_span'][stage]:7.2f} CPU  {b['wall_us_per_span'][stage]:7.2f} wall")
        cpu = b["cpu_us_per_span"]
        new_cpu = sum(value for stage, value in cpu.items() if stage != "old decode")
        decode_cpu = cpu["flatten"] + cpu["normalise"] + cpu["assemble"]
        print(f"  all new stages {new_cpu:.2f} µs CPU a span: at most {per_second(1e6, new_cpu / 2):,.0f} spans/s "
              f"on two cores shared perfectly; decode {decode_cpu:.2f} against the old decoder's "
              f"{cpu['old decode']:.2f} ({cpu['old decode'] / decode_cpu:.2f}x)")  # fmt: skip
    load = report.get("load")
    if load:
        transport, concurrency = load["transport"], report["args"]["concurrency"]
        print(f"\nload (first run): OTLP/{transport}, {concurrency} requests in flight, ", end="")
        print(f"{load['window_seconds']:.1f} s measured after {report['args']['warmup']:.0f} s warm-up")
        print(
            f"  committed         {_rate(load['committed_spans_per_s'])}   per second: min {load['per_second_min']:,}"
            f" / median {load['per_second_median']:,.0f} / max {load['per_second_max']:,}"
        )
        print(f"  whole run         {_rate(load['overall_spans_per_s'])}   over {load['overall_seconds']:.1f} s")
        print(
            f"  ack latency       p50 {load['ack_latency_ms_p50']:.0f} ms, p99 {load['ack_latency_ms_p99']:.0f} ms, "
            f"max {load['ack_latency_ms_max']:.0f} ms"
        )
        print(
            f"  acknowledged      {load['acked_spans']:,} spans ({load['acked_requests']:,} requests); "
            f"in the DuckDB file: {load['db_spans']:,} spans, {load['db_runs']:,} runs "
            f"-> {'MATCH' if load['db_matches_acked'] else 'MISMATCH'}"
        )
        print(
            f"  server said       {load['server_reported_committed']} spans committed this session, in "
            f"{load['server_transactions']} transactions ({load['spans_per_transaction']:,.0f} spans each)"
        )
        print(
            f"  refused           {load['requests_refused']} (UNAVAILABLE, retried); errors: {load['errors'] or 'none'}"
            f"; partially rejected spans: {load['partial_rejected_spans']}"
        )
        print(
            f"  server RSS        peak {load['server_rss_peak_mib']:.0f} MiB (VmHWM), "
            f"at end {load['server_rss_end_mib']:.0f} MiB; the process tree (server and its workers): "
            f"peak {load['tree_rss_peak_mib']:.0f} MiB (sampled every {RSS_SAMPLE_SECONDS} s)"
        )
        print(
            f"  CPU               server tree {load['server_cpu_cores']:.2f} cores, "
            f"client {load['client_cpu_cores']:.2f} cores, other processes {load['other_cpu_cores']:.2f} cores"
        )
        threads = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in load["server_threads_cpu_seconds"][:4])
        print(f"  server threads    CPU over the whole run: {threads}")
        print(f"  stop              {load['server_stop_seconds']:.1f} s (final commit and checkpoint)")
        print(f"  DuckDB file       {load['db_bytes'] / MiB:,.0f} MiB")
    summary = report.get("summary")
    if summary:
        print("\nall runs (committed spans/s; median; ack p99; process tree RSS peak):")
        for row in summary:
            if "ratio_this_to_against" in row:
                print(f"  {row['transport']:<5} this / against: {row['ratio_this_to_against']:.2f}x")
                continue
            rates = ", ".join(f"{rate:,.0f}" for rate in row["committed_spans_per_s"])
            print(
                f"  {row['transport']:<5} {row['label']:<8} {rates}; median {row['median_spans_per_s']:,.0f}; "
                f"p99 {row['ack_p99_ms']} ms; tree RSS {row['tree_rss_peak_mib']:.0f} MiB"
                + ("" if row["all_matched"] else "; DATABASE MISMATCH")
            )
    ratios = report.get("ratios")
    if ratios:
        print("\nratios (committed / baseline):", ", ".join(f"{k} {v:.3f}" for k, v in ratios.items()))
    targets = report.get("targets")
    if targets:
        print(
            f"targets: >= {TARGET_SPANS_PER_SECOND:,} spans/s gRPC, {HTTP_TARGET_SPANS_PER_SECOND:,} HTTP, process "
            f"tree RSS < {TARGET_RSS_MIB} MiB: "
            f"{'met' if targets['target_met'] else 'NOT met'}; goal {GOAL_SPANS_PER_SECOND:,} spans/s: "
            f"{'met' if targets['goal_met'] else 'not met'}"
        )
    profile = load.get("profile") if load else None
    if profile:
        _print_profile(profile)


def _print_profile(profile: dict[str, Any]) -> None:
    total = profile["samples"] or 1
    print(f"\nserver profile (py-spy, {profile['samples']} non-idle samples):")
    print("  samples per thread:", ", ".join(f"{thread} {count / total:.0%}" for thread, count in profile["threads"]))
    print("  self time, by source line:")
    for frame, count, code in profile["self"]:
        print(f"    {count / total:6.1%}  {frame}" + (f"   {code}" if code else ""))
    print("  inclusive time, agentlog functions:")
    for frame, count in profile["inclusive"]:
        print(f"    {count / total:6.1%}  {frame}")


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """The request shape and the senders' retry pause, as every load of this workload takes them."""
    parser.add_argument("--spans-per-request", type=int, default=512)
    parser.add_argument("--spans-per-trace", type=int, default=16, help="a root span and its children (default 16)")
    parser.add_argument("--retry-pause", type=float, default=0.05, help="seconds before retrying UNAVAILABLE")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured load duration (default 20)")
    parser.add_argument("--warmup", type=float, default=2.0, help="load before measuring starts (default 2)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    add_workload_arguments(parser)
    parser.add_argument(
        "--baseline-requests", type=int, default=128, help="distinct requests the baselines use (default 128)"
    )
    parser.add_argument(
        "--insert-batch", type=int, default=16, help="requests per baseline transaction (default 16: a row group)"
    )
    parser.add_argument("--no-baselines", action="store_true", help="only the load, not the stages")
    parser.add_argument("--no-load", action="store_true", help="only the stages")
    parser.add_argument("--profile", metavar="PATH", help="py-spy the server while measuring; raw stacks to PATH")
    parser.add_argument("--profile-rate", type=int, default=100, help="py-spy samples per second (default 100)")
    parser.add_argument(
        "--profile-idle", action="store_true", help="sample idle threads too (waiting for the GIL, a lock, I/O)"
    )
    parser.add_argument("--profile-top", type=int, default=15, help="functions listed in the profile summary")
    parser.add_argument(
        "--server-command",
        default="{python} -m agentlog",
        help="how to start agentlog ({python} is this interpreter), e.g. a patched copy to compare against; "
        "'--verbose serve --db ... --grpc-port 0 --http-port 0' is appended (default: %(default)s)",
    )
    parser.add_argument("--transports", default="grpc", help="comma-separated: grpc, http (default: %(default)s)")
    parser.add_argument(
        "--against",
        metavar="COMMAND",
        help="another agentlog to run the same load against, alternated with this one (e.g. an older checkout's "
        "'/path/.venv/bin/python -m agentlog'): the ratio is measured in the same run",
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs of each (transport, command) (default 1)")
    parser.add_argument("--workdir", help="keep the databases and server log here (default: a temporary directory)")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to PATH")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "args": vars(args),
        "machine": machine(),
        "agentlog": agentlog_source(),
    }
    template = build_template(args.spans_per_request, args.spans_per_trace)
    report["workload"] = {
        "spans_per_request": template.spans,
        "spans_per_trace": args.spans_per_trace,
        "traces_per_request": template.traces,
        "request_bytes": len(template.body),
        "bytes_per_span": len(template.body) / template.spans,
        "ids_per_request": template.ids,
    }
    with tempfile.TemporaryDirectory(prefix="agentlog-bench-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for stale in ("bench.duckdb", "bench.duckdb.wal", "baseline.duckdb", "baseline.duckdb.wal"):
            (workdir / stale).unlink(missing_ok=True)
        if not args.no_baselines:
            print(f"stages on {args.baseline_requests} requests ...", flush=True)
            baselines = run_baselines(template, args.baseline_requests, args.insert_batch, workdir)
            report["baselines"] = asdict(baselines)
        if not args.no_load:
            report["runs"] = run_loads(args, template, workdir)
            report["load"] = report["runs"][0]["result"]
    _derive(report)
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"\nfigures written to {args.json}")
    loads = [run["result"] for run in report.get("runs", [])]
    if any(not load["db_matches_acked"] or load["errors"] or load["partial_rejected_spans"] for load in loads):
        print("\nFAILED: the database does not hold exactly what was acknowledged, or requests failed", file=sys.stderr)
        return 1
    return 0


def run_loads(args: argparse.Namespace, template: Template, workdir: Path) -> list[dict[str, Any]]:
    """Every load run: per round, per transport, this agentlog then ``--against`` (the other way round
    in odd rounds, so neither always runs on a machine warmed or tired by the other)."""
    commands = [("this", args.server_command)]
    if args.against:
        commands.append(("against", args.against))
    runs = []
    for round_ in range(args.rounds):
        for transport in args.transports.split(","):
            for label, command in commands if round_ % 2 == 0 else commands[::-1]:
                print(f"load ({label}, {transport}, round {round_ + 1}) for {args.warmup:.0f} + "
                      f"{args.seconds:.0f} s ...", flush=True)  # fmt: skip
                result = run_load(args, template, workdir, command, transport)
                runs.append({"label": label, "round": round_ + 1, "transport": transport, "result": result})
    return runs


def summarise_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (transport, label): median committed rate, p99, tree RSS peak; and this/against ratios."""
    rows = []
    for transport in dict.fromkeys(run["transport"] for run in runs):
        medians = {}
        for label in dict.fromkeys(run["label"] for run in runs):
            results = [run["result"] for run in runs if run["transport"] == transport and run["label"] == label]
            if not results:
                continue
            rates = [result["committed_spans_per_s"] for result in results]
            medians[label] = percentile(rates, 50)
            rows.append(
                {
                    "transport": transport,
                    "label": label,
                    "runs": len(results),
                    "committed_spans_per_s": rates,
                    "median_spans_per_s": medians[label],
                    "ack_p99_ms": [round(result["ack_latency_ms_p99"]) for result in results],
                    "tree_rss_peak_mib": max(result["tree_rss_peak_mib"] for result in results),
                    "all_matched": all(result["db_matches_acked"] for result in results),
                }
            )
        if medians.get("against"):
            rows.append({"transport": transport, "ratio_this_to_against": medians["this"] / medians["against"]})
    return rows


def _derive(report: dict[str, Any]) -> None:
    if report.get("runs"):
        report["summary"] = summarise_runs(report["runs"])
        ours = [row for row in report["summary"] if row.get("label") == "this"]
        floors = {"grpc": TARGET_SPANS_PER_SECOND, "http": HTTP_TARGET_SPANS_PER_SECOND}
        report["targets"] = {
            "target_met": all(
                row["median_spans_per_s"] >= floors[row["transport"]] and row["tree_rss_peak_mib"] < TARGET_RSS_MIB
                for row in ours
            ),
            "goal_met": all(row["median_spans_per_s"] >= GOAL_SPANS_PER_SECOND for row in ours),
        }


if __name__ == "__main__":
    sys.exit(main())
