"""Lake benchmark: bench/ingest.py's load into a DuckLake by one and by two collectors, against a DuckDB file.

Run from the repository root::

    .venv/bin/python bench/lake.py --quick                 # a smoke run: a few requests, a few reads
    .venv/bin/python bench/lake.py --json /tmp/lake.json   # every sample as JSON too
    .venv/bin/python bench/lake.py --inlining-limit        # the lake's data inlining limit in effect; no run

In one run, with a throwaway PostgreSQL cluster of its own (tests/lake/postgres.py: 127.0.0.1, an
ephemeral port, a temporary directory; stopped and removed at the end, failures included):

1. ingest, one case after the other, each on a new store: (a) ``agentlog serve`` on a DuckDB file; (b) one
   collector on a lake (``--db ducklake:postgres:... --data-path DIR``); (c) two collectors on one lake,
   the requests taken from one counter by whichever collector's sender is free (every run whole on one
   collector); (d) two collectors, every request split in two halves of each of its runs (the root and
   the first half of the steps to one collector, the other steps to the other), so that every run is
   committed by both. The requests are bench/ingest.py's (``build_template``), numbered 1 .. --requests in
   every case, so every store ends with the same spans; OTLP/gRPC, --concurrency requests in flight per
   collector. Measured: committed spans/s = the spans counted by SQL in the store once its servers
   stopped, over the wall time from the first send to the last acknowledgement (a server acknowledges
   after its commit); acknowledgement latency per request (first attempt to answer, refusals retried);
   CPU seconds of each collector's process tree, of the PostgreSQL cluster, of this client and of the
   rest of the machine, over the same wall time.
2. reads: an API-only process (``--no-ingest``) on every store, the file's included; the history's first
   page and the logs of one run, interleaved round by round over the stores, p50 / p95 over --reads
   requests each.
3. upkeep of each lake, through DuckLake's own functions on a connection opened by agentlog's
   ``lake.attach``, no agentlog process running: ``ducklake_flush_inlined_data``,
   ``ducklake_merge_adjacent_files``, ``ducklake_expire_snapshots`` (older than now),
   ``ducklake_cleanup_old_files`` (all); the Parquet files under the data path before and after each.

The figures depend on ``agentlog.store.lake.INLINING_ROW_LIMIT``: commits of fewer rows than that stay in
the catalog's tables (PostgreSQL), not in Parquet files; the report gives the limit and the catalog's size.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]

import duckdb  # noqa: E402
import httpx  # noqa: E402
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

import ingest  # noqa: E402
from agentlog.store import lake  # noqa: E402
from served import StoreServer, machine, write_json  # noqa: E402
from tests.lake.postgres import Postgres, bin_dir, cluster  # noqa: E402

UPKEEP = (
    ("flush inlined data", "ducklake_flush_inlined_data({catalog})"),
    ("merge adjacent files", "ducklake_merge_adjacent_files({catalog})"),
    ("expire snapshots", "ducklake_expire_snapshots({catalog}, older_than => now())"),
    ("clean up old files", "ducklake_cleanup_old_files({catalog}, cleanup_all => true)"),
)
"""DuckLake's upkeep, in order; each is read as ``SELECT count(*) FROM ...`` (their rows hold timestamps
with time zones, which DuckDB's Python client converts with pytz, not installed)."""

HISTORY, LOGS = "/api/v1/agents/history", "/api/v1/agents/logs"
READ_WARMUP = 2
"""Requests of each kind sent to each store before the timed rounds."""
SETTLE_TIMEOUT = 60.0
"""Seconds a new server may take to warm its metrics up before the benchmark goes on anyway."""


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    lake: bool
    collectors: int
    split_runs: bool


CASES = (
    Case("file", "DuckDB file, one server", False, 1, False),
    Case("lake1", "lake, one collector", True, 1, False),
    Case("lake2", "lake, two collectors", True, 2, False),
    Case("lake2split", "lake, two collectors, runs split", True, 2, True),
)


@dataclass
class Store:
    """Where a case writes: ``db`` is the --db of its servers."""

    case: Case
    db: str
    data_path: Path | None = None
    dbname: str | None = None


@dataclass
class Feed:
    """What one collector is sent: request numbers from ``numbers`` (one iterator for two collectors that
    share the requests), each as ``template``'s request."""

    server: ingest.Server
    template: ingest.Template
    numbers: Iterator[int]
    acks: list[tuple[int, float, float]] = field(default_factory=list)
    """(request number, seconds from the first send to the answer, latency from the first attempt)"""
    refused: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    rejected_spans: int = 0
    cut_off: bool = False


# --------------------------------------------------------------------------- workload


def split_template(template: ingest.Template) -> tuple[ingest.Template, ingest.Template]:
    """The template's request in two: per run, the root and the first half of its steps; the other steps.
    Request ``n`` of both halves together is request ``n`` of the template."""
    per_trace = template.spans // template.traces
    whole = ExportTraceServiceRequest.FromString(template.body)
    halves = []
    for first in (True, False):
        half = ExportTraceServiceRequest()
        half.CopyFrom(whole)
        for resource_spans in half.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                kept = [s for i, s in enumerate(scope_spans.spans) if (i % per_trace < per_trace // 2) == first]
                del scope_spans.spans[:]
                scope_spans.spans.extend(kept)
        body = half.SerializeToString()
        spans = sum(len(ss.spans) for rs in half.resource_spans for ss in rs.scope_spans)
        halves.append(ingest.Template(body, spans, template.traces, body.count(ingest.PLACEHOLDER)))
    assert halves[0].spans + halves[1].spans == template.spans
    return halves[0], halves[1]


def run_id(request: int, trace: int) -> str:
    """The run id (``printf('%032x', trace_id)``) of run ``trace`` (0-based) of request ``request``."""
    return (ingest.TRACE_ID_TAG + request.to_bytes(4, "big") + (trace + 1).to_bytes(4, "big")).hex()


# --------------------------------------------------------------------------- processes


def start_server(store: Store, workdir: Path, name: str, *, ingests: bool = True) -> StoreServer:
    """``agentlog serve`` on the store (loopback, ephemeral ports; the lake's data path as a setting)."""
    env = {"AGENTLOG_RUNTIME_DIR": str(workdir / "runtime")}
    if store.data_path is not None:
        env["AGENTLOG_DATA_PATH"] = str(store.data_path)
    if not ingests:
        env["AGENTLOG_INGEST"] = "false"
    log_path = workdir / f"{name}.log"
    server = StoreServer(store.db, log_path, env=env)
    settle(server, log_path)
    return server


def settle(server: StoreServer, log_path: Path) -> None:
    """Wait for the server's metrics warm-up, which runs beside serving once it is ready: its CPU and
    reads would count in the first figures."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline and server.process.poll() is None:
        if "warm-up failed" in (text := log_path.read_text()) or " warmed in " in text:
            return
        time.sleep(0.05)


def kill(server: ingest.Server) -> None:
    """The way out after a failure: a server still running is killed."""
    if server.process.poll() is None:
        server.process.kill()
        server.process.wait()


def postgres_cpu_seconds(postgres: Postgres) -> float:
    """CPU seconds of the PostgreSQL server and its living backends."""
    pid = postgres.postmaster_pid()
    return ingest.tree_cpu_seconds(pid) if pid is not None else float("nan")


def new_store(case: Case, postgres: Postgres, workdir: Path) -> Store:
    if not case.lake:
        path = workdir / f"{case.name}.duckdb"
        for stale in (path, path.with_name(path.name + ".wal")):
            stale.unlink(missing_ok=True)
        return Store(case, str(path))
    dbname = f"bench_{case.name}_{uuid.uuid4().hex[:8]}"
    postgres.psql(f"CREATE DATABASE {dbname}")
    data_path = workdir / f"{case.name}-data"
    shutil.rmtree(data_path, ignore_errors=True)  # a kept --workdir's earlier run
    return Store(case, lake.CATALOG_PREFIX + postgres.conninfo(dbname), data_path, dbname)


# --------------------------------------------------------------------------- ingest


async def _drive(feeds: list[Feed], concurrency: int, retry_pause: float, max_seconds: float) -> None:
    """``concurrency`` senders per feed until its numbers run out (or ``max_seconds`` passed)."""
    async with contextlib.AsyncExitStack() as stack:
        sends = [await stack.enter_async_context(ingest.SENDERS["grpc"](feed.server, concurrency)) for feed in feeds]
        start = time.perf_counter()
        deadline = start + max_seconds

        async def sender(feed: Feed, send: ingest.Send) -> None:
            for n in feed.numbers:
                if time.perf_counter() >= deadline:
                    feed.cut_off = True
                    return
                body = feed.template.request(n)
                first_attempt = time.perf_counter()
                while True:
                    try:
                        response = await send(body)
                    except ingest._Refused as error:
                        if feed.server.process.poll() is not None:
                            raise RuntimeError(
                                f"a server exited with status {feed.server.process.returncode}"
                            ) from error
                        feed.refused += 1
                        await asyncio.sleep(retry_pause)
                        continue
                    except ingest._Failed as error:
                        feed.errors[str(error)] += 1
                        break
                    acked = time.perf_counter()
                    if response:  # empty: every span stored
                        rejected = ExportTraceServiceResponse.FromString(response).partial_success.rejected_spans
                        feed.rejected_spans += rejected
                    feed.acks.append((n, acked - start, acked - first_attempt))
                    break

        await asyncio.gather(*(sender(feed, send) for feed, send in zip(feeds, sends, strict=True)
                               for _ in range(concurrency)))  # fmt: skip


def feeds_for(case: Case, servers: list[StoreServer], template: ingest.Template, requests: int) -> list[Feed]:
    if case.split_runs:
        halves = split_template(template)
        return [Feed(server, half, iter(range(1, requests + 1))) for server, half in zip(servers, halves, strict=True)]
    shared = iter(range(1, requests + 1))  # one counter: a free sender of either collector takes the next
    return [Feed(server, template, shared) for server in servers]


def cpu_marks(servers: list[StoreServer], postgres: Postgres) -> dict[str, Any]:
    return {
        "wall": time.perf_counter(),
        "collectors": [server.tree_cpu_seconds() for server in servers],
        "postgres": postgres_cpu_seconds(postgres),
        "client": time.process_time(),
        "system": ingest.system_cpu_seconds(),
    }


def count_store(store: Store) -> dict[str, int]:
    """What the store holds, by SQL (its servers stopped): spans, distinct span keys, runs, their nodes."""
    sql = (
        "SELECT (SELECT count(*) FROM spans), (SELECT count(DISTINCT (trace_id, span_id)) FROM spans), "
        "(SELECT count(*) FROM runs), (SELECT coalesce(sum(node_count), 0) FROM runs)"
    )
    if store.case.lake:
        connection, _ = lake.attach(store.db, str(store.data_path))
    else:
        connection = duckdb.connect(store.db, read_only=True)
    try:
        (row,) = connection.execute(sql).fetchall()
    finally:
        connection.close()
    spans, distinct, runs, nodes = (int(value) for value in row)
    return {"spans": spans, "distinct_spans": distinct, "runs": runs, "run_nodes": nodes}


def run_ingest(
    args: argparse.Namespace, case: Case, template: ingest.Template, postgres: Postgres, workdir: Path
) -> tuple[Store, dict[str, Any]]:
    """One case on a new store: its collectors started, the requests sent, the collectors stopped, the
    store counted."""
    store = new_store(case, postgres, workdir)
    servers: list[StoreServer] = []
    try:
        for index in range(case.collectors):
            servers.append(start_server(store, workdir, f"{case.name}-collector{index + 1}"))
        feeds = feeds_for(case, servers, template, args.requests)
        before = cpu_marks(servers, postgres)
        asyncio.run(_drive(feeds, args.concurrency, args.retry_pause, args.max_seconds))
        after = cpu_marks(servers, postgres)
        stops = [server.stop() for server in servers]
    finally:
        for server in servers:
            kill(server)
    stored = count_store(store)
    return store, summarise_ingest(case, template, feeds, before, after, stops, stored)


def summarise_ingest(
    case: Case,
    template: ingest.Template,
    feeds: list[Feed],
    before: dict[str, Any],
    after: dict[str, Any],
    stops: list[tuple[float, int | None, int | None]],
    stored: dict[str, int],
) -> dict[str, Any]:
    acks = [ack for feed in feeds for ack in feed.acks]
    wall = max((ack[1] for ack in acks), default=0.0)  # first send to the last acknowledgement
    acked_spans = sum(len(feed.acks) * feed.template.spans for feed in feeds)
    acked_requests = {ack[0] for ack in acks}
    latencies = [ack[2] for ack in acks]
    collectors_cpu = [end - start for start, end in zip(before["collectors"], after["collectors"], strict=True)]
    postgres_cpu = after["postgres"] - before["postgres"]
    client_cpu = after["client"] - before["client"]
    system_cpu = after["system"] - before["system"]
    seconds = after["wall"] - before["wall"]
    return {
        "case": case.name,
        "label": case.label,
        "collectors": case.collectors,
        "requests_acked": len(acks),
        "request_numbers_acked": len(acked_requests),
        "acked_spans": acked_spans,
        "stored": stored,
        "wall_seconds": wall,
        "committed_spans_per_s": ingest.per_second(stored["spans"], wall),
        "ack_latency_ms_p50": 1000 * ingest.percentile(latencies, 50),
        "ack_latency_ms_p99": 1000 * ingest.percentile(latencies, 99),
        "ack_latency_ms_max": 1000 * max(latencies, default=float("nan")),
        "per_collector": [
            {
                "acked_requests": len(feed.acks),
                "acked_spans": len(feed.acks) * feed.template.spans,
                "refused": feed.refused,
                "errors": dict(feed.errors),
                "rejected_spans": feed.rejected_spans,
                "cpu_seconds": cpu,
                "cpu_seconds_per_10k_spans": ingest.per_second(1e4 * cpu, len(feed.acks) * feed.template.spans),
                "stop_seconds": stop[0],
                "said_committed": stop[1],
                "transactions": stop[2],
            }
            for feed, cpu, stop in zip(feeds, collectors_cpu, stops, strict=True)
        ],
        "collectors_cpu_seconds": sum(collectors_cpu),
        "postgres_cpu_seconds": postgres_cpu if case.lake else None,
        "client_cpu_seconds": client_cpu,
        "other_cpu_seconds": max(0.0, system_cpu - sum(collectors_cpu) - client_cpu - (postgres_cpu or 0.0)),
        "cpu_window_seconds": seconds,
        "cut_off": any(feed.cut_off for feed in feeds),
        # Every acknowledged span stored once; every request's runs, each with its non-root spans as nodes.
        "store_matches_acked": (
            stored["spans"] == acked_spans
            and stored["distinct_spans"] == stored["spans"]
            and stored["runs"] == len(acked_requests) * template.traces
            and stored["run_nodes"] == acked_spans - stored["runs"]
        ),
        "failed": any(feed.errors or feed.rejected_spans for feed in feeds),
        "acks": {f"collector{index + 1}": feed.acks for index, feed in enumerate(feeds)},
    }


# --------------------------------------------------------------------------- reads


@dataclass
class Reader:
    store: Store
    server: StoreServer
    client: httpx.Client
    samples: dict[str, list[float]] = field(default_factory=dict)


def read_cases(template: ingest.Template, requests: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """The requests timed: the history's first page; the logs of one run (request ``requests // 2``'s)."""
    return {
        "history_first_page": (HISTORY, {}),
        "logs_one_run": (LOGS, {"run_id": run_id(max(1, requests // 2), template.traces // 2)}),
    }


def time_reads(readers: list[Reader], cases: dict[str, tuple[str, dict[str, Any]]], reads: int, nodes: int) -> None:
    """``reads`` of each case on each store, in rounds (every store and case once a round)."""
    for reader in readers:
        for name, (path, params) in cases.items():
            for _ in range(READ_WARMUP):
                response = reader.client.get(path, params=params)
                response.raise_for_status()
            if name == "logs_one_run":  # the same run on every store, with its steps
                found = len(response.json()["nodes"])
                if found != nodes:
                    raise RuntimeError(f"{reader.store.case.name}: the run has {found} nodes, expected {nodes}")
            reader.samples[name] = []
    for _ in range(reads):
        for reader in readers:
            for name, (path, params) in cases.items():
                begin = time.perf_counter()
                response = reader.client.get(path, params=params)
                _ = response.content
                elapsed = time.perf_counter() - begin
                response.raise_for_status()
                reader.samples[name].append(1000 * elapsed)


def run_reads(
    args: argparse.Namespace, stores: list[Store], template: ingest.Template, workdir: Path
) -> dict[str, Any]:
    """An API-only process on every store; the reads timed, interleaved; the processes stopped."""
    readers: list[Reader] = []
    try:
        for store in stores:
            server = start_server(store, workdir, f"{store.case.name}-api", ingests=False)
            readers.append(Reader(store, server, httpx.Client(base_url=server.url, timeout=60)))
        cases = read_cases(template, args.requests)
        time_reads(readers, cases, args.reads, template.spans // template.traces - 1)
        for reader in readers:
            reader.server.stop()
    finally:
        for reader in readers:
            reader.client.close()
            kill(reader.server)
    return {
        "cases": {name: {"path": path, "params": params} for name, (path, params) in cases.items()},
        "stores": {
            reader.store.case.name: {
                name: {
                    "p50_ms": ingest.percentile(samples, 50),
                    "p95_ms": ingest.percentile(samples, 95),
                    "samples_ms": samples,
                }
                for name, samples in reader.samples.items()
            }
            for reader in readers
        },
    }


# --------------------------------------------------------------------------- upkeep


def parquet_files(data_path: Path) -> dict[str, int]:
    files = [path for path in data_path.rglob("*.parquet") if path.is_file()]
    return {"files": len(files), "bytes": sum(path.stat().st_size for path in files)}


def catalog_bytes(postgres: Postgres, dbname: str) -> int:
    return int(postgres.psql(f"SELECT pg_database_size('{dbname}')"))


def run_upkeep(store: Store, postgres: Postgres) -> dict[str, Any]:
    """DuckLake's upkeep on the lake, step by step: seconds, rows each function returned, files after."""
    assert store.data_path is not None and store.dbname is not None
    result: dict[str, Any] = {
        "before": {**parquet_files(store.data_path), "catalog_bytes": catalog_bytes(postgres, store.dbname)},
        "steps": [],
    }
    connection, catalog = lake.attach(store.db, str(store.data_path))
    try:
        for name, call in UPKEEP:
            begin = time.perf_counter()
            # fetchall: a result left unread (fetchone) leaves the statement's transaction open, and the
            # next statement rolls it back: the files a flush wrote are deleted and its rows stay inlined.
            ((rows,),) = connection.execute(f"SELECT count(*) FROM {call.format(catalog=repr(catalog))}").fetchall()
            seconds = time.perf_counter() - begin
            result["steps"].append(
                {"step": name, "seconds": seconds, "rows": int(rows), **parquet_files(store.data_path)}
            )
    finally:
        connection.close()
    result["after"] = {**parquet_files(store.data_path), "catalog_bytes": catalog_bytes(postgres, store.dbname)}
    return result


def upkeep_module() -> str | None:
    """agentlog's own upkeep module, if this checkout has one (not used here: DuckLake's functions are
    called directly, so the figures do not depend on its choices)."""
    return "agentlog.store.upkeep" if importlib.util.find_spec("agentlog.store.upkeep") else None


# --------------------------------------------------------------------------- report


def print_report(report: dict[str, Any]) -> None:
    m, w = report["machine"], report["workload"]
    print(f"\nmachine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, load average at start "
          f"{', '.join(f'{value:.2f}' for value in m['loadavg_at_start'])}; Python {m['python']}, DuckDB "
          f"{m['duckdb']}, PostgreSQL {report['postgres_version']}")  # fmt: skip
    print(
        f"agentlog: {report['agentlog'].get('commit', '?')}; lake.INLINING_ROW_LIMIT = {report['inlining_row_limit']:,}"
    )
    print(f"workload: requests 1 .. {w['requests']} of {w['spans_per_request']} spans ({w['traces_per_request']} runs "
          f"of {w['spans_per_trace']}), OTLP/gRPC, {w['concurrency']} in flight per collector")  # fmt: skip
    print("\ningest (CPU: seconds over the case's wall time; per collector, and per 10,000 spans it acknowledged)")
    header = f"  {'case':<34} {'stored spans':>12} {'wall s':>7} {'spans/s':>9} {'ack p50/p99 ms':>15}"
    print(header + f"  {'collectors CPU s (per 10k)':<32} {'PG CPU s':>8} {'other':>6}  check")
    for row in report["ingest"]:
        collectors = ", ".join(
            f"{c['cpu_seconds']:.1f} ({c['cpu_seconds_per_10k_spans']:.2f})" for c in row["per_collector"]
        )
        postgres = "-" if row["postgres_cpu_seconds"] is None else f"{row['postgres_cpu_seconds']:.1f}"
        check = "OK" if row["store_matches_acked"] and not row["failed"] else "MISMATCH"
        check += ", CUT OFF" if row["cut_off"] else ""
        refused = sum(c["refused"] for c in row["per_collector"])
        check += f", {refused} refused" if refused else ""
        latency = f"{row['ack_latency_ms_p50']:.0f} / {row['ack_latency_ms_p99']:.0f}"
        print(f"  {row['label']:<34} {row['stored']['spans']:>12,} {row['wall_seconds']:>7.1f} "
              f"{row['committed_spans_per_s']:>9,.0f} {latency:>15}  {collectors:<32} {postgres:>8} "
              f"{row['other_cpu_seconds']:>6.1f}  {check}")  # fmt: skip
    reads = report.get("reads")
    if reads:
        print(f"\nreads through an API-only process (--no-ingest), p50 / p95 ms over {report['args']['reads']} each")
        names = list(reads["cases"])
        print(f"  {'store':<34} " + " ".join(f"{name:>22}" for name in names))
        labels = {case.name: case.label for case in CASES}
        for store, figures in reads["stores"].items():
            cells = " ".join(f"{figures[n]['p50_ms']:>11.1f} / {figures[n]['p95_ms']:>7.1f}" for n in names)
            print(f"  {labels[store]:<34} {cells}")
    upkeep = report.get("upkeep")
    if upkeep:
        print("\nParquet files under each lake's data path: files (MiB), then after each step of DuckLake's upkeep")
        steps = "".join(f"{name:>28}" for name, _ in UPKEEP)
        print(f"  {'lake':<34} {'before':>12}{steps}  {'catalog MiB':>14}")
        labels = {case.name: case.label for case in CASES}
        for name, figures in upkeep.items():
            cells = "".join(f"{_files(step, step['seconds']):>28}" for step in figures["steps"])
            catalog = f"{figures['before']['catalog_bytes'] / ingest.MiB:.1f} -> "
            catalog += f"{figures['after']['catalog_bytes'] / ingest.MiB:.1f}"
            print(f"  {labels[name]:<34} {_files(figures['before']):>12}{cells}  {catalog:>14}")
        if report["upkeep_module"]:
            print(f"  ({report['upkeep_module']} exists; not used: DuckLake's functions were called directly)")


def _files(figures: dict[str, Any], seconds: float | None = None) -> str:
    """Files (MiB)[, seconds the step took]."""
    text = f"{figures['files']} ({figures['bytes'] / ingest.MiB:.1f})"
    return text if seconds is None else f"{text}, {seconds:.1f} s"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=256, help="requests of 512 spans per case (default 256)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight per collector (default 8)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="a case's load stops after this (default 300)")
    parser.add_argument("--reads", type=int, default=200, help="timed requests of each read per store (default 200)")
    ingest.add_workload_arguments(parser)
    parser.add_argument(
        "--cases", default=",".join(case.name for case in CASES), help="comma-separated, of: %(default)s"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 8 requests, 2 in flight, 10 reads")
    parser.add_argument("--inlining-limit", action="store_true", help="print the lake's inlining limit and exit")
    parser.add_argument("--workdir", help="keep the stores and server logs here (default: a temporary directory)")
    parser.add_argument("--json", metavar="PATH", help="write the figures, every sample included, as JSON to PATH")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.concurrency, args.reads = 8, 2, 10
    unknown = set(args.cases.split(",")) - {case.name for case in CASES}
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.inlining_limit:
        print(f"agentlog.store.lake.INLINING_ROW_LIMIT = {lake.INLINING_ROW_LIMIT:,} rows: a commit of fewer rows "
              "than that to a table stays in the catalog (PostgreSQL); larger ones go to Parquet files")  # fmt: skip
        return 0
    programs = bin_dir()
    if programs is None:
        print("PostgreSQL is not installed (initdb is not on PATH nor in /usr/lib/postgresql)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the cluster and the servers go on the way out
    cases = [case for case in CASES if case.name in args.cases.split(",")]
    template = ingest.build_template(args.spans_per_request, args.spans_per_trace)
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "args": vars(args),
        "machine": machine(),
        "agentlog": ingest.agentlog_source(),
        "inlining_row_limit": lake.INLINING_ROW_LIMIT,
        "upkeep_module": upkeep_module(),
        "workload": {
            "requests": args.requests,
            "spans_per_request": template.spans,
            "spans_per_trace": args.spans_per_trace,
            "traces_per_request": template.traces,
            "request_bytes": len(template.body),
            "concurrency": args.concurrency,
        },
    }
    with tempfile.TemporaryDirectory(prefix="agentlog-lake-bench-") as tmp, cluster(programs) as postgres:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        report["postgres_version"] = postgres.psql("SHOW server_version")
        stores, report["ingest"] = [], []
        for case in cases:
            print(f"ingest: {case.label}, {args.requests} requests ...", flush=True)
            store, result = run_ingest(args, case, template, postgres, workdir)
            stores.append(store)
            report["ingest"].append(result)
        print(f"reads: {args.reads} of each on {len(stores)} stores ...", flush=True)
        report["reads"] = run_reads(args, stores, template, workdir)
        report["upkeep"] = {}
        for store in stores:
            if store.case.lake:
                print(f"upkeep: {store.case.label} ...", flush=True)
                report["upkeep"][store.case.name] = run_upkeep(store, postgres)
    print_report(report)
    write_json(report, args.json)
    if any(not row["store_matches_acked"] or row["failed"] for row in report["ingest"]):
        print("\nFAILED: a store does not hold exactly what was acknowledged, or requests failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
