"""Retention benchmark: delete the older half of a 1,000,000-run store through a real server while ingest goes on.

Run from the repository root::

    .venv/bin/python bench/retention.py               # the 1,000,000-run store of bench/bigstore.py
    .venv/bin/python bench/retention.py --quick       # 100,000 runs
    .venv/bin/python bench/retention.py --json /tmp/retention.json

On a copy of bench/bigstore.py's store (start times over the last 60 days):

1. ``agentlog serve`` on the copy (its own retention schedule off), and a dry
   run (``{"days": 30, "dry_run": true}``) for what should go.
2. bench/ingest.py's load flat out for a moment: the server's maximum rate on
   this store. Then the same load at half that rate, steady, in another
   process (bench/steady_load.py), recording every acknowledgement.
3. A baseline period of that load alone, then ``POST
   /api/v1/executions/cleanup {"days": 30}``, timed from request to response,
   then a few seconds more of load.
4. Per period: the longest gap between consecutive acknowledgements (a stall
   of the writer shows as a gap), and acknowledgement latency, so the
   cleanup's effect on ingest is read against the baseline of the same run.
5. The server stops (its final CHECKPOINT folds everything into the file);
   the file's size and DuckDB's used and free blocks, before and after; and
   the rows left must equal the rows before + ingested - deleted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx

import bigstore
import ingest
from served import (
    MAX_RATE_SECONDS,
    CpuMeter,
    StoreServer,
    database_size,
    measure_max_rate,
    memory_limit,
    run_in_workdir,
    start_report,
    store_arguments,
    write_json,
)
from steady_load import LoadRecord, SteadyLoad

DAYS = 30
LOAD_WARMUP = 3.0
TRACES_PER_REQUEST = 32
"""bench/ingest.py's request: 32 runs of 16 spans."""

# Targets from the issue.
TARGET_SECONDS = 10.0
TARGET_STALL_SECONDS = 1.0


def _counts(path: Path, cutoff_ns: int) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as connection:
        spans = connection.execute("SELECT count(*) FROM stored_spans").fetchone()[0]
        runs, older = connection.execute(
            "SELECT count(*), count(*) FILTER (ended_ns < $cutoff) FROM run_summaries", {"cutoff": cutoff_ns}
        ).fetchone()
    return {"spans": int(spans), "runs": int(runs), "runs_ended_before_cutoff": int(older)}


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    report, _, db_path = start_report(args, workdir, "retention")
    report["size_before"] = database_size(db_path)
    report["memory_limit"] = memory_limit(args.memory_limit)
    server = StoreServer(db_path, workdir / "server.log", memory_limit=args.memory_limit)
    records: list[LoadRecord] = []
    try:
        report["result"] = _measure(args, server, workdir, records)
        alive = server.process.poll() is None
        report["server_rss_peak_mib"] = server.rss_kib().get("VmHWM", 0) / 1024 if alive else None
    finally:
        stop_seconds, _, _ = server.stop()
    report["server_stop_seconds"] = stop_seconds
    try:
        report["size_after"] = database_size(db_path)
        report["check"] = _check(report, db_path, records)
    except duckdb.Error as error:  # a server that died may leave a WAL a read-only open cannot replay
        report["unreadable_after"] = f"{type(error).__name__}: {error}"
    return report


def _measure(args: argparse.Namespace, server: StoreServer, workdir: Path, records: list[LoadRecord]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    with httpx.Client(base_url=server.url, timeout=600) as client:
        begin = time.perf_counter()
        dry = client.post("/api/v1/executions/cleanup", json={"days": DAYS, "dry_run": True})
        dry.raise_for_status()
        result["dry_run"] = {**dry.json(), "seconds": time.perf_counter() - begin}
        first_request = 1
        if args.ingest_rate:
            max_rate = 2 * args.ingest_rate
        else:
            print(f"ingest flat out for {MAX_RATE_SECONDS:.0f} s (the maximum rate) ...", flush=True)
            max_rate, flat_out = measure_max_rate(server, workdir)
            records.append(flat_out)
            first_request = flat_out.next_request
        rate = max_rate / 2
        result["max_ingest_spans_per_s"], result["ingest_spans_per_s"] = max_rate, rate
        print(f"steady ingest at {rate:,.0f} spans/s: {args.baseline_seconds:.0f} s baseline, then the cleanup ...")
        meter = CpuMeter(server)
        load = SteadyLoad(server.grpc_port, rate, workdir / "load.json", first_request=first_request)
        try:
            time.sleep(LOAD_WARMUP)
            meter.reset()
            baseline_begin = time.monotonic()
            time.sleep(args.baseline_seconds)
            result["baseline_cpu"] = meter.read()
            meter.reset()
            cleanup_begin, failure = time.monotonic(), ""
            result["cleanup_wall_ns"] = time.time_ns()  # the server's cutoff is 30 days before a moment after this
            try:
                response: httpx.Response | None = client.post("/api/v1/executions/cleanup", json={"days": DAYS})
            except httpx.TransportError as error:  # the server died under it
                response, failure = None, f"{type(error).__name__}: {error}; server exit status {server.process.poll()}"
            cleanup_end = time.monotonic()
            result["cleanup_cpu"] = meter.read()
            time.sleep(args.after_seconds)
            after_end = time.monotonic()
        finally:
            record = load.stop()
            records.append(record)
    ok = response is not None and response.status_code == httpx.codes.OK
    if response is None:
        answer: dict[str, Any] = {"status": None, "error": failure}
    else:
        answer = {"status": response.status_code, **(response.json() if ok else {"error": response.text[:500]})}
    result["cleanup"] = {"ok": ok, "seconds": cleanup_end - cleanup_begin, **answer}
    result["baseline"] = record.window(baseline_begin, cleanup_begin)
    result["during_cleanup"] = record.window(cleanup_begin, cleanup_end, overlapping=True)
    result["after_cleanup"] = record.window(cleanup_end, after_end)
    result["ingest_errors"] = record.errors[:5]
    result["ingest_error_count"] = len(record.errors)
    return result


def _check(report: dict[str, Any], db_path: Path, records: list[LoadRecord]) -> dict[str, Any]:
    """Rows after = rows before + ingested - deleted, and nothing older than the cutoff is left."""
    store, cleanup = report["store"], report["result"]["cleanup"]
    acked_requests = sum(len(record.acks) for record in records)
    spans_per_request = records[0].spans_per_request if records else 0
    # Every run that ended 30 days before the request was sent must be gone.
    cutoff_ns = report["result"]["cleanup_wall_ns"] - DAYS * bigstore.NS_PER_DAY
    counts = _counts(db_path, cutoff_ns)
    if not cleanup["ok"]:  # what was deleted before it failed is not known
        return {**counts, "ingested_spans": acked_requests * spans_per_request, "ok": False}
    expected_spans = store["spans"] + acked_requests * spans_per_request - cleanup["spans"]
    expected_runs = store["runs"] + acked_requests * TRACES_PER_REQUEST - cleanup["runs"]
    return {
        **counts,
        "ingested_spans": acked_requests * spans_per_request,
        "expected_spans": expected_spans,
        "expected_runs": expected_runs,
        "ok": counts["spans"] == expected_spans
        and counts["runs"] == expected_runs
        and counts["runs_ended_before_cutoff"] == 0,
    }


# --------------------------------------------------------------------------- report


def _window_line(name: str, window: dict[str, Any]) -> str:
    return (
        f"  {name:<16} {window['seconds']:6.1f} s  {window['spans_per_s']:>8,.0f} spans/s  "
        f"longest gap {1000 * window['max_gap_s']:>6,.0f} ms  ack p50 {1000 * window['ack_latency_p50_s']:>5,.0f} ms"
        f"  p99 {1000 * window['ack_latency_p99_s']:>6,.0f} ms  max {1000 * window['ack_latency_max_s']:>6,.0f} ms"
        f"  (max from due {1000 * window['due_latency_max_s']:>6,.0f} ms; refused {window['refused']})"
    )


def _size_line(size: dict[str, Any]) -> str:
    block = size["block_size"]
    return (
        f"{size['file_bytes'] / ingest.MiB:,.0f} MiB file; used {size['used_blocks'] * block / ingest.MiB:,.0f} MiB, "
        f"free {size['free_blocks'] * block / ingest.MiB:,.0f} MiB"
    )


def targets(report: dict[str, Any]) -> dict[str, bool]:
    result = report["result"]
    return {
        "cleanup_under_10_s": result["cleanup"]["ok"] and result["cleanup"]["seconds"] < TARGET_SECONDS,
        "no_stall_over_1_s": result["during_cleanup"]["max_gap_s"] <= TARGET_STALL_SECONDS,
    }


def print_report(report: dict[str, Any]) -> None:
    m, s, r = report["machine"], report["store"], report["result"]
    print(f"\nmachine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB; Python {m['python']}, ", end="")
    print(f"DuckDB {m['duckdb']}; load average at start {', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])}")
    print(f"agentlog: {report['agentlog'].get('commit', '?')}; ", end="")
    rss = report["server_rss_peak_mib"]
    rss_text = f"{rss:,.0f} MiB" if rss else "unknown (it died)"
    print(f"server peak RSS {rss_text}; DuckDB memory limit {report['memory_limit']}")
    print(
        f"store: {s['runs']:,} runs, {s['spans']:,} spans over {bigstore.SPAN_DAYS} days "
        f"({'built now' if s['built_now'] else 'from the cache'}, built {s['built_at']}); copied in "
        f"{s['copy_seconds']:.1f} s"
    )
    dry = r["dry_run"]
    print(f"\ndry run: {dry['runs']:,} runs / {dry['spans']:,} spans older than {DAYS} days ({dry['seconds']:.2f} s)")
    cleanup = r["cleanup"]
    if not cleanup["ok"]:
        print(f"cleanup: FAILED after {cleanup['seconds']:.2f} s: HTTP {cleanup['status']}: {cleanup['error'][:300]}")
        if "size_after" not in report:
            print(f"the store could not be read afterwards: {report.get('unreadable_after')}")
    else:
        _print_cleanup(cleanup, r)
    failures = f": {r['ingest_errors'][:2]}" if r["ingest_errors"] else ""
    print(
        f"ingest: steady {r['ingest_spans_per_s']:,.0f} spans/s asked (half of {r['max_ingest_spans_per_s']:,.0f} "
        f"flat out); {r['ingest_error_count']} requests failed{failures}"
    )
    print(_window_line("baseline", r["baseline"]))
    print(_window_line("during cleanup", r["during_cleanup"]))
    print(_window_line("after cleanup", r["after_cleanup"]))
    if "size_after" in report:
        _print_sizes_and_check(report)
    t = report["targets"]
    print(
        f"\ntargets: cleanup under {TARGET_SECONDS:.0f} s: {'met' if t['cleanup_under_10_s'] else 'MISSED'}; "
        f"no ingest stall over {TARGET_STALL_SECONDS:.0f} s during it: {'met' if t['no_stall_over_1_s'] else 'MISSED'}"
        f" (baseline's longest gap {1000 * r['baseline']['max_gap_s']:,.0f} ms)"
    )


def _print_cleanup(cleanup: dict[str, Any], r: dict[str, Any]) -> None:
    print(
        f"cleanup: deleted {cleanup['runs']:,} runs / {cleanup['spans']:,} spans in {cleanup['seconds']:.2f} s "
        f"({cleanup['runs'] / cleanup['seconds']:,.0f} runs/s); server CPU {r['cleanup_cpu']['server_cores']:.2f} "
        f"cores, everything else {r['cleanup_cpu']['other_cores']:.2f} cores"
    )


def _print_sizes_and_check(report: dict[str, Any]) -> None:
    r = report["result"]
    print(f"\nbefore:                 {_size_line(report['size_before'])}")
    print(f"after, with CHECKPOINT: {_size_line(report['size_after'])}", end="")
    print(f"  (server stop, with its checkpoint: {report['server_stop_seconds']:.1f} s)")
    c = report["check"]
    if not r["cleanup"]["ok"]:
        print(f"rows after: {c['spans']:,} spans, {c['runs']:,} runs; ", end="")
        print(f"{c['runs_ended_before_cutoff']:,} runs older than the cutoff left")
        return
    print(
        f"rows after: {c['spans']:,} spans, {c['runs']:,} runs; expected {c['expected_spans']:,} / "
        f"{c['expected_runs']:,} (before + {c['ingested_spans']:,} ingested - deleted); runs older than the cutoff "
        f"left: {c['runs_ended_before_cutoff']} -> {'OK' if c['ok'] else 'MISMATCH'}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = store_arguments(__doc__)
    parser.add_argument("--baseline-seconds", type=float, default=20.0, help="load alone before the cleanup")
    parser.add_argument("--after-seconds", type=float, default=5.0, help="load after the cleanup")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run_in_workdir(args, "agentlog-retention-", lambda workdir: run(args, workdir))
    report["targets"] = targets(report)
    print_report(report)
    write_json(report, args.json)
    return 0 if report.get("check", {}).get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
