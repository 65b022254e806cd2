"""The real server on a copy of a benchmark store, with its API port; and what a report says about the machine."""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

import bigstore
import ingest
from agentlog.settings import Settings
from steady_load import LoadRecord, SteadyLoad

# The server's own retention schedule would delete the store's older half as
# soon as it starts (the default keeps 30 days): the benchmarks decide when
# anything is deleted. ``env`` keeps the server process's pid (it execs).
SERVER_ENV = {"AGENTLOG_RETENTION_DAYS": "0"}

QUICK_RUNS = 100_000
MAX_RATE_SECONDS = 12.0
MAX_RATE_WARMUP = 2.0


def store_arguments(doc: str) -> argparse.ArgumentParser:
    """The options of every benchmark on a cached ``bigstore`` store served by the real server."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=1_000_000, help="runs in the store (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help=f"a store of {QUICK_RUNS:,} runs: a smoke test")
    parser.add_argument("--rebuild", action="store_true", help="build the store even if it is cached")
    parser.add_argument("--cache-dir", type=Path, default=bigstore.CACHE_DIR, help="where stores are cached")
    parser.add_argument(
        "--ingest-rate", type=float, help="spans/s of the load (default: half of what the server takes flat out)"
    )
    parser.add_argument(
        "--memory-limit", help="DuckDB's memory limit in the server (AGENTLOG_MEMORY_LIMIT; default: the server's)"
    )
    parser.add_argument("--workdir", help="keep the copy of the store and the server log here")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to PATH")
    return parser


def run_in_workdir(args: argparse.Namespace, prefix: str, run: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """``run(workdir)`` in ``--workdir``, or in a temporary directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        return run(workdir)


def write_json(report: dict[str, Any], path: str | None) -> None:
    """The figures as JSON at ``--json``, if given."""
    if path:
        Path(path).write_text(json.dumps(report, indent=2, default=str) + "\n")
        print(f"\nfigures written to {path}")


def start_report(args: argparse.Namespace, workdir: Path, name: str) -> tuple[dict[str, Any], bigstore.StoreInfo, Path]:
    """The report's header (date, arguments, machine, store) and a fresh copy of the cached store to serve."""
    runs = QUICK_RUNS if args.quick else args.runs
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "args": vars(args)}
    report["machine"], report["agentlog"] = machine(), ingest.agentlog_source()
    info, built = bigstore.cached_store(runs, rebuild=args.rebuild, cache_dir=args.cache_dir)
    report["store"] = {**vars(info), "built_now": built}
    db_path = workdir / f"{name}.duckdb"
    print(f"copying the store ({info.file_bytes / ingest.MiB:,.0f} MiB) ...", flush=True)
    report["store"]["copy_seconds"] = bigstore.copy_store(info, db_path)
    return report, info, db_path


def measure_max_rate(server: StoreServer, workdir: Path) -> tuple[float, LoadRecord]:
    """bench/ingest.py's load flat out (8 requests in flight) against this server: committed spans/s."""
    load = SteadyLoad(server.grpc_port, 0, workdir / "max-rate.json", first_request=1, seconds=MAX_RATE_SECONDS)
    record = load.wait(timeout=MAX_RATE_SECONDS + 180)
    if record.errors:
        raise RuntimeError(f"ingest errors while measuring the maximum rate: {record.errors[:3]}")
    return record.rate(record.start + MAX_RATE_WARMUP, record.start + MAX_RATE_SECONDS), record


def memory_limit(given: str | None) -> str:
    """What DuckDB's memory limit in the server is: ``given`` (--memory-limit), else the server's default."""
    if given:
        return given
    default = Settings().memory_limit
    return f"{default} (the server's default)" if default else "none (DuckDB's default: 80% of the RAM)"


class StoreServer(ingest.Server):
    """``agentlog serve`` on ``db_path`` (bench/ingest.py's Server), also knowing its API port.

    ``memory_limit``: AGENTLOG_MEMORY_LIMIT for the server (None: its default); ``env``: more settings
    (``AGENTLOG_INGEST=false`` for an API-only server, ``grpc_port`` 0)."""

    def __init__(
        self,
        db_path: Path | str,
        log_path: Path,
        *,
        memory_limit: str | None = None,
        startup_timeout: float = 120.0,
        env: dict[str, str] | None = None,
    ) -> None:
        env = {**SERVER_ENV, **({"AGENTLOG_MEMORY_LIMIT": memory_limit} if memory_limit else {}), **(env or {})}
        command = " ".join(
            ["env", *(f"{key}={shlex.quote(value)}" for key, value in env.items()), "{python} -m agentlog"]
        )
        started = time.perf_counter()
        super().__init__(command, db_path, log_path, startup_timeout)
        self.startup_seconds = time.perf_counter() - started
        ports = [re.search(r"API and web page on http://\S+:(\d+)/", line) for line in self.output]
        found = [int(match.group(1)) for match in ports if match]
        if not found:
            self.stop()
            raise RuntimeError(f"the server did not say its API port: {self.output}")
        self.api_port = found[0]
        self.url = f"http://127.0.0.1:{self.api_port}"


def database_size(path: Path) -> dict[str, Any]:
    """The file's size and DuckDB's view of it (used and free blocks), opened read-only: no server may hold it."""
    with duckdb.connect(str(path), read_only=True) as connection:
        row = connection.execute(
            "SELECT total_blocks, used_blocks, free_blocks, block_size FROM pragma_database_size()"
        ).fetchone()
    assert row is not None
    total, used, free, block_size = (int(value) for value in row)
    return {
        "file_bytes": path.stat().st_size,
        "total_blocks": total,
        "used_blocks": used,
        "free_blocks": free,
        "block_size": block_size,
    }


def machine() -> dict[str, Any]:
    """bench/ingest.py's description of the machine, and how busy it was over the last minute."""
    described = ingest.machine()
    described["loadavg_at_start"] = os.getloadavg()
    return described


class CpuMeter:
    """CPU used by the server and by the rest of the machine (the benchmark itself included) between reads."""

    def __init__(self, server: ingest.Server) -> None:
        self.server = server
        self.reset()

    def _read(self) -> tuple[float, float, float]:
        return time.perf_counter(), self.server.cpu_seconds(), ingest.system_cpu_seconds()

    def reset(self) -> None:
        self._marks = self._read()

    def read(self) -> dict[str, float]:
        """Cores used since the last reset: by the server, and by every other process."""
        wall0, server0, system0 = self._marks
        wall, server, system = self._read()
        seconds = wall - wall0
        return {
            "seconds": seconds,
            "server_cores": (server - server0) / seconds,
            "other_cores": max(0.0, (system - system0) - (server - server0)) / seconds,
        }
