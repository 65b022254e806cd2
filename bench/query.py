"""Read benchmark: history, logs, stats and metrics over real HTTP against ``agentlog serve`` on a large store.

Run from the repository root::

    .venv/bin/python bench/query.py                  # 1,000,000 runs (built once, ~10 min, then cached)
    .venv/bin/python bench/query.py --quick          # 100,000 runs: a smoke test
    .venv/bin/python bench/query.py --json /tmp/query.json

1. The store: bench/bigstore.py's (1,000,000 runs, ~10,000,000 spans over
   60 days, roll-ups made by the real fold), from ``bench/.cache/`` or built.
   The server gets a copy: the load below writes to it.
2. ``python -m agentlog serve`` on the copy (its retention schedule off), and
   one keep-alive httpx client. Each query below is timed from request to
   the last byte of the response. The queries are interleaved in rounds, so
   that anything slow on the machine for a moment hits all of them alike.
3. The same rounds idle, then while bench/ingest.py's load runs in another
   process (bench/steady_load.py) at half the rate the server sustained flat
   out a moment before. Slowdown = under ingest / idle, same run.

The machine is small (2 cores) and shared: the report gives the CPU the
server and everything else used during each phase.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx

import bigstore
import explain
import ingest
from agentlog.query.pages import encode_cursor
from served import (
    MAX_RATE_SECONDS,
    CpuMeter,
    StoreServer,
    measure_max_rate,
    memory_limit,
    run_in_workdir,
    start_report,
    store_arguments,
    write_json,
)
from steady_load import SteadyLoad

LOAD_WARMUP = 3.0
"""Seconds of steady load before the rounds start: the server's intake and writer reach their pace."""
MAX_SAMPLES = 400
"""Samples per case and phase at most: enough for a p99."""
DEEP_PAGES = 200
"""Pages a client follows by cursor before starting again from the first."""

# Targets from the issue.
HISTORY_P50_MS, HISTORY_P99_MS = 10.0, 50.0
LOGS_P50_MS = 20.0
AGGREGATE_MS = 300.0
MAX_SLOWDOWN = 2.0


@dataclass
class Case:
    """One kind of request: ``next_params()`` gives the query string of each sample."""

    name: str
    label: str
    path: str
    next_params: Callable[[], dict[str, Any]]
    per_round: int
    target: str  # history, logs, aggregate, or "" (reported only)
    samples_ms: list[float] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _cycle(values: list[Any]) -> Callable[[], Any]:
    iterator: Iterator[Any] = itertools.cycle(values)
    return lambda: next(iterator)


def _deep_cursors(db_path: Path, fractions: list[float]) -> list[str]:
    """History cursors positioned ``fraction`` of the way back through the runs, made as list_runs makes them."""
    cursors = []
    with duckdb.connect(str(db_path), read_only=True) as connection:
        total = connection.execute("SELECT count(*) FROM run_summaries").fetchone()[0]
        for fraction in fractions:
            started, run_id = connection.execute(
                "SELECT started_ns, run_id FROM run_summaries ORDER BY started_ns DESC, trace_id DESC "
                "LIMIT 1 OFFSET $offset",
                {"offset": int(total * fraction)},
            ).fetchone()
            cursors.append(encode_cursor("history", {"s": int(started), "t": run_id}))
    return cursors


def _typical_runs(db_path: Path, count: int) -> list[str]:
    with duckdb.connect(str(db_path), read_only=True) as connection:
        rows = connection.execute(
            "SELECT run_id FROM run_summaries WHERE node_count < 20 AND status <> 'running' "
            "ORDER BY hash(trace_id) LIMIT $n",
            {"n": count},
        ).fetchall()
    return [row[0] for row in rows]


class Paging:
    """Follows history pages by cursor, as a client scrolling back would, restarting after DEEP_PAGES."""

    def __init__(self) -> None:
        self.cursor: str | None = None
        self.page = 0

    def params(self) -> dict[str, Any]:
        return {"cursor": self.cursor} if self.cursor else {}

    def advance(self, response: httpx.Response) -> None:
        self.page += 1
        self.cursor = response.headers.get("x-next-cursor")
        if self.page >= DEEP_PAGES or self.cursor is None:
            self.cursor, self.page = None, 0


def build_cases(info: bigstore.StoreInfo, db_path: Path) -> tuple[list[Case], Paging]:
    agents = [*info.busiest_agents[:3], "recipe-bot", "travel-planner"]  # busy, and from the long tail
    users = ["user-0000", "user-0003", "user-0042", "user-0250", "user-0600", "user-0990"]
    deep = _deep_cursors(db_path, [0.5, 0.9])
    paging = Paging()
    big = info.big_run_ids
    typical = _typical_runs(db_path, 50)
    history, logs, runs_api = "/api/v1/agents/history", "/api/v1/agents/logs", "/api/v1/agents"
    cases = [
        Case("history_first", "history, first page", history, dict, 5, "history"),
        Case("history_agent", "history, agent_id=", history, lambda: {"agent_id": pick_agent()}, 5, "history"),
        Case("history_user", "history, user_id=", history, lambda: {"user_id": pick_user()}, 5, "history"),
        Case("history_failed", "history, status=failed", history, lambda: {"status": "failed"}, 5, "history"),
        Case("history_paging", f"history, next page by cursor (to page {DEEP_PAGES})", history, paging.params, 10,
             "history"),
        Case("history_deep", "history, cursor 50 % / 90 % deep", history, lambda: {"cursor": pick_deep()}, 4,
             "history"),
        Case("logs_1000", f"logs, {bigstore.BIG_RUN_NODES:,}-node run, limit=1000", logs,
             lambda: {"run_id": pick_big(), "limit": 1000}, 3, "logs"),
        Case("logs_1000_page", f"logs, {bigstore.BIG_RUN_NODES:,}-node run, first page (500)", logs,
             lambda: {"run_id": pick_big()}, 2, ""),
        Case("logs_typical", "logs, a typical run (~10 nodes)", logs, lambda: {"run_id": pick_typical()}, 5, ""),
        Case("stats_30d", "stats, 30 days", f"{runs_api}/stats", lambda: {"days": 30}, 1, "aggregate"),
        Case("stats_30d_user", "stats, 30 days, user_id=", f"{runs_api}/stats",
             lambda: {"days": 30, "user_id": pick_user()}, 1, ""),
        Case("metrics_30d_agent", "metrics, 30 days, one agent", f"{runs_api}/metrics",
             lambda: {"days": 30, "agent_id": pick_agent()}, 1, "aggregate"),
        Case("metrics_30d_all", "metrics, 30 days, all agents", f"{runs_api}/metrics", lambda: {"days": 30}, 1,
             "aggregate"),
    ]  # fmt: skip
    pick_agent, pick_user, pick_deep = _cycle(agents), _cycle(users), _cycle(deep)
    pick_big, pick_typical = _cycle(big), _cycle(typical)
    return cases, paging


def _fresh(cases: list[Case]) -> list[Case]:
    for case in cases:
        case.samples_ms, case.bytes, case.errors = [], [], []
    return cases


def run_rounds(client: httpx.Client, cases: list[Case], paging: Paging, budget: float, min_samples: int) -> int:
    """Rounds over the cases, each case taking ``per_round`` samples per round until it has ``min_samples``
    and has used its share of ``budget`` seconds (or has MAX_SAMPLES); returns the number of rounds.

    Interleaved, so that a slow moment of the machine (or of the server: a checkpoint) hits every case
    alike; shares of the time, so that fast queries get many samples and slow ones at least ``min_samples``."""
    for case in cases:  # warm-up: first touches of each query's data
        for _ in range(2):
            client.get(case.path, params=case.next_params())
    _fresh(cases)
    share = budget / len(cases)
    spent = dict.fromkeys((case.name for case in cases), 0.0)

    def done(case: Case) -> bool:
        enough = spent[case.name] >= share or len(case.samples_ms) >= MAX_SAMPLES
        return len(case.samples_ms) >= min_samples and enough

    rounds = 0
    while not all(done(case) for case in cases):
        for case in cases:
            if done(case):
                continue
            for _ in range(case.per_round):
                params = case.next_params()
                begin = time.perf_counter()
                response = client.get(case.path, params=params)
                body = response.content
                elapsed = time.perf_counter() - begin
                spent[case.name] += elapsed
                if response.status_code != httpx.codes.OK:
                    case.errors.append(f"{response.status_code}: {body[:200]!r}")
                    continue
                case.samples_ms.append(1000 * elapsed)
                case.bytes.append(len(body))
                if case.name == "history_paging":
                    paging.advance(response)
        rounds += 1
    return rounds


def summarise(cases: list[Case]) -> dict[str, dict[str, Any]]:
    return {
        case.name: {
            "label": case.label,
            "target": case.target,
            "samples": len(case.samples_ms),
            "p50_ms": ingest.percentile(case.samples_ms, 50),
            "p99_ms": ingest.percentile(case.samples_ms, 99),
            "max_ms": max(case.samples_ms, default=float("nan")),
            "mean_response_bytes": sum(case.bytes) / len(case.bytes) if case.bytes else 0,
            "errors": case.errors[:5],
        }
        for case in cases
    }


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    report, info, db_path = start_report(args, workdir, "query")
    cases, paging = build_cases(info, db_path)
    report["memory_limit"] = memory_limit(args.memory_limit)
    server = StoreServer(db_path, workdir / "server.log", memory_limit=args.memory_limit)
    report["server_startup_seconds"] = server.startup_seconds
    meter = CpuMeter(server)
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            print(f"idle: {len(cases)} queries, interleaved, ~{args.seconds:.0f} s ...", flush=True)
            meter.reset()
            rounds = run_rounds(client, cases, paging, args.seconds, args.min_samples)
            report["idle"] = {"rounds": rounds, "cpu": meter.read(), "cases": summarise(cases)}
            if not args.no_load:
                report["loaded"] = _under_load(args, server, client, cases, paging, meter, workdir)
        report["server_rss_peak_mib"] = server.rss_kib().get("VmHWM", 0) / 1024
    finally:
        report["server_stop_seconds"] = server.stop()[0]
    if args.explain:
        print("EXPLAIN ANALYZE of each query on the store copy ...", flush=True)
        requests = [(case.name, case.path, case.next_params()) for case in cases]
        report["explain"] = explain.explain(db_path, requests, Path(args.explain))
    return report


def _under_load(
    args: argparse.Namespace,
    server: StoreServer,
    client: httpx.Client,
    cases: list[Case],
    paging: Paging,
    meter: CpuMeter,
    workdir: Path,
) -> dict[str, Any]:
    if args.ingest_rate:
        max_rate, first_request = args.ingest_rate * 2, 1
    else:
        print(f"ingest flat out for {MAX_RATE_SECONDS:.0f} s (the maximum rate) ...", flush=True)
        max_rate, flat_out = measure_max_rate(server, workdir)
        first_request = flat_out.next_request
    rate = max_rate / 2
    print(f"under ingest at {rate:,.0f} spans/s (half of {max_rate:,.0f}): the queries again ...", flush=True)
    load = SteadyLoad(server.grpc_port, rate, workdir / "load.json", first_request=first_request)
    try:
        time.sleep(LOAD_WARMUP)
        meter.reset()
        begin = time.monotonic()
        rounds = run_rounds(client, cases, paging, args.seconds, args.min_samples)
        end = time.monotonic()
        cpu = meter.read()
    finally:
        record = load.stop()
    return {
        "max_ingest_spans_per_s": max_rate,
        "target_ingest_spans_per_s": rate,
        "ingest": record.window(begin, end),
        "ingest_errors": record.errors[:5],
        "rounds": rounds,
        "cpu": cpu,
        "cases": summarise(cases),
    }


# --------------------------------------------------------------------------- report


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def targets(report: dict[str, Any]) -> dict[str, Any]:
    """Each target from the issue, met or not, and slowdown ratios under ingest."""
    idle = report["idle"]["cases"]
    loaded = report.get("loaded", {}).get("cases", {})
    checks: dict[str, Any] = {}
    for name, figures in idle.items():
        target = figures["target"]
        if target == "history":
            checks[name] = figures["p50_ms"] <= HISTORY_P50_MS and figures["p99_ms"] <= HISTORY_P99_MS
        elif target == "logs":
            checks[name] = figures["p50_ms"] <= LOGS_P50_MS
        elif target == "aggregate":
            checks[name] = figures["p50_ms"] <= AGGREGATE_MS
    slowdown = {
        name: {
            "p50": loaded[name]["p50_ms"] / idle[name]["p50_ms"],
            "p99": loaded[name]["p99_ms"] / idle[name]["p99_ms"],
        }
        for name in loaded
    }
    return {
        "idle": checks,
        "slowdown": slowdown,
        "slowdown_ok": {name: ratio["p50"] <= MAX_SLOWDOWN for name, ratio in slowdown.items()},
    }


def _target_text(target: str) -> str:
    return {
        "history": f"p50 <= {HISTORY_P50_MS:.0f}, p99 <= {HISTORY_P99_MS:.0f}",
        "logs": f"p50 <= {LOGS_P50_MS:.0f}",
        "aggregate": f"p50 <= {AGGREGATE_MS:.0f}",
    }.get(target, "-")


def print_report(report: dict[str, Any]) -> None:
    m, s = report["machine"], report["store"]
    print(f"\nmachine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB; Python {m['python']}, ", end="")
    print(f"DuckDB {m['duckdb']}; load average at start {', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])}")
    print(f"agentlog: {report['agentlog'].get('commit', '?')}; ", end="")
    print(f"server peak RSS {report['server_rss_peak_mib']:,.0f} MiB; DuckDB memory limit {report['memory_limit']}")
    print(
        f"store: {s['runs']:,} runs, {s['spans']:,} spans, {s['file_bytes'] / ingest.MiB:,.0f} MiB; "
        f"{'built now' if s['built_now'] else 'from the cache, built'} in {s['build_seconds']:.0f} s "
        f"(final checkpoint {s['checkpoint_seconds']:.0f} s) on {s['built_at']}; copied in {s['copy_seconds']:.1f} s; "
        f"server ready in {report['server_startup_seconds']:.1f} s"
    )
    checks = report["targets"]
    idle = report["idle"]
    loaded = report.get("loaded")
    print(f"\nidle: {idle['rounds']} rounds; CPU: server {idle['cpu']['server_cores']:.2f} cores, ", end="")
    print(f"everything else (this client included) {idle['cpu']['other_cores']:.2f} cores")
    if loaded:
        ingest_window = loaded["ingest"]
        print(
            f"under ingest: {loaded['rounds']} rounds; ingest {ingest_window['spans_per_s']:,.0f} committed spans/s "
            f"(asked {loaded['target_ingest_spans_per_s']:,.0f} = half of {loaded['max_ingest_spans_per_s']:,.0f} "
            f"flat out), ack p50 {1000 * ingest_window['ack_latency_p50_s']:.0f} ms, max "
            f"{1000 * ingest_window['ack_latency_max_s']:.0f} ms, longest gap between acks "
            f"{1000 * ingest_window['max_gap_s']:.0f} ms; CPU: server {loaded['cpu']['server_cores']:.2f} cores, "
            f"everything else {loaded['cpu']['other_cores']:.2f} cores"
        )
    header = f"\n{'query':<46} {'n':>4} {'p50 ms':>8} {'p99 ms':>8}  {'target (idle)':<22}"
    if loaded:
        header += f" {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'slowdown p50/p99':>17}"
    print(header)
    print(f"{'':<46} {'idle':>22}{'':<24}" + (f" {'under ingest':>22}" if loaded else ""))
    for name, figures in idle["cases"].items():
        verdict = _verdict(checks["idle"][name]) if name in checks["idle"] else ""
        line = (
            f"{figures['label']:<46} {figures['samples']:>4} {figures['p50_ms']:>8.1f} {figures['p99_ms']:>8.1f}  "
            f"{_target_text(figures['target']) + ' ' + verdict:<22}"
        )
        if loaded:
            under = loaded["cases"][name]
            ratio = checks["slowdown"][name]
            flag = "" if checks["slowdown_ok"][name] else " MISSED"
            line += (
                f" {under['samples']:>4} {under['p50_ms']:>8.1f} {under['p99_ms']:>8.1f} "
                f"{ratio['p50']:>7.2f}x / {ratio['p99']:.2f}x{flag}"
            )
        print(line)
        errors = figures["errors"] + (loaded["cases"][name]["errors"] if loaded else [])
        if errors:
            print(f"    errors: {errors[:2]}")
    print(
        f"\ntargets: history p50 <= {HISTORY_P50_MS:.0f} ms and p99 <= {HISTORY_P99_MS:.0f} ms; logs of "
        f"{bigstore.BIG_RUN_NODES:,} nodes p50 <= {LOGS_P50_MS:.0f} ms; stats and metrics <= {AGGREGATE_MS:.0f} ms; "
        f"under ingest at most {MAX_SLOWDOWN:.0f}x idle (p50)"
    )
    missed = [name for name, ok in checks["idle"].items() if not ok]
    missed += [f"{name} under ingest" for name, ok in checks["slowdown_ok"].items() if not ok]
    print("missed: " + (", ".join(missed) if missed else "none"))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = store_arguments(__doc__)
    parser.add_argument(
        "--seconds", type=float, default=40.0, help="time shared out among the queries, per phase (default 40)"
    )
    parser.add_argument("--min-samples", type=int, default=5, help="samples of each query per phase at least")
    parser.add_argument("--no-load", action="store_true", help="idle only")
    parser.add_argument(
        "--explain", metavar="PATH", help="afterwards, profile each query (EXPLAIN ANALYZE) on the copy; plans to PATH"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run_in_workdir(args, "agentlog-query-", lambda workdir: run(args, workdir))
    report["targets"] = targets(report)
    print_report(report)
    if "explain" in report:
        explain.print_summary(report["explain"], Path(args.explain))
    write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
