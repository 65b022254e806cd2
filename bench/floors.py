"""Floors: what the parts of a history page and of a 1,000-node run's logs cost at least, on this machine.

Run from the repository root::

    .venv/bin/python bench/floors.py                  # on bench/bigstore.py's 1,000,000 runs (cached)
    .venv/bin/python bench/floors.py --quick          # 100,000 runs: a smoke test

bench/query.py times whole requests. This script times the parts that a
request cannot do without in this store layout, so that a missed target can be
told apart from a slow part. Everything is interleaved in rounds, in one run:

1. HTTP alone: a bare Starlette app on uvicorn, in a process of its own on a
   loopback port, returns prebuilt bodies: the real bodies of a history page
   and of a 1,000-node run's logs (made below). One keep-alive httpx client,
   as bench/query.py's, times each to the last byte.
2. DuckDB alone, in this process, on a copy of the store, one cursor; each
   statement's rows fetched:
   - planning alone: EXPLAIN of a one-column statement and of a history page's;
   - the history's first page: its statement, and ``list_runs`` whole;
   - a run found by its id: its start time by trace id. The ids are random
     and the store keeps no index (migration 0014), so this scans them all;
   - the run's statement (query/sql/run.sql);
   - a 1,000-node run's spans: the tree's columns alone; with the attributes
     as stored; with the documents the logs serve (query/sql/run_nodes.sql);
     and ``run_logs`` whole.
3. Floors: HTTP plus the statements a request needs at least, with no Python
   and no server around them. For the logs,
   with the documents as if stored ready-made (the attributes as stored stand
   in for them: a document is the attributes and ~1 kB more), and no Python.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agentlog.query import HistoryQuery, LogsQuery, Scope, history, list_runs, logs, run_logs
from agentlog.server import listening_socket
from agentlog.store import Database
from served import run_in_workdir, start_report, store_arguments, write_json

ROUNDS = 60
BODIES = ("history", "logs")
SPANS_WHERE = (
    "FROM stored_spans WHERE tenant_id = $tenant AND trace_id = $trace::UUID"
    " AND commit_seq BETWEEN $first_seq AND $last_seq"
)


def serve_bodies(directory: Path) -> None:
    """The bare HTTP server (run as ``floors.py --serve DIR``): GET /NAME returns DIR/NAME.json."""
    bodies = {name: (directory / f"{name}.json").read_bytes() for name in BODIES}

    async def body(request: Request) -> Response:
        return Response(bodies[request.path_params["name"]], media_type="application/json")

    listener = listening_socket("127.0.0.1", 0)  # as agentlog serve's: TCP_NODELAY on accepted sockets
    print(listener.getsockname()[1], flush=True)
    app = Starlette(routes=[Route("/{name}", body)])
    uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[listener])


class Parts:
    """Each part's statement or call, by name, on one cursor of the store copy."""

    def __init__(self, cursor: Any, big_run_id: str, busiest_agent: str) -> None:
        self.cursor = cursor
        self.now = time.time_ns()
        scope = Scope()
        newest = cursor.execute(history.HISTORY_NEWEST_SQL).fetchone()[0]
        page = {
            "tenant": scope.tenant_id,
            "from_ns": newest + 1 - history.FIRST_WINDOW_NS,
            "limit": history.DEFAULT_LIMIT + 1,
            "skip": 0,
        }
        page_sql, page = _statement("history.sql", page)
        agent_bound, agent_page = self._filtered(cursor, {**page, "agent": busiest_agent}, newest + 1)
        trace = big_run_id
        run = {"tenant": scope.tenant_id, "trace": trace, "user_scope": None}
        found = cursor.execute(logs.RUN_SQL, run).fetchone()
        names = [column[0] for column in cursor.description]
        spans = {
            "tenant": scope.tenant_id,
            "trace": trace,
            "first_seq": found[names.index("first_seq")],
            "last_seq": found[names.index("commit_seq")],
        }
        lookup = "SELECT started_ns FROM run_rollups WHERE tenant_id = $tenant AND trace_id = $trace::UUID"
        tree = "SELECT span_id, parent_span_id, start_time_unix_nano "
        self.statements: dict[str, tuple[str, dict[str, Any]]] = {
            "plan: one column": (
                "EXPLAIN SELECT started_ns FROM run_rollups WHERE tenant_id = $tenant",
                {"tenant": scope.tenant_id},
            ),
            "plan: history page": ("EXPLAIN " + page_sql, page),
            "history page statement": (page_sql, page),
            "agent_id=: bound statement": agent_bound,
            "agent_id=: page statement": agent_page,
            "run found by id (scan)": (lookup, {"tenant": scope.tenant_id, "trace": trace}),
            "run statement": (logs.RUN_SQL, run),
            "spans: tree columns": (tree + SPANS_WHERE, spans),
            "spans: + attributes as stored": (tree + ", attributes " + SPANS_WHERE, spans),
            "spans: + documents": (logs.NODES_SQL[False], spans),
        }
        self.calls: dict[str, Callable[[], bytes]] = {
            "list_runs whole": lambda: orjson.dumps(list_runs(cursor, scope, HistoryQuery(), self.now).runs),
            "run_logs whole": lambda: orjson.dumps(run_logs(cursor, scope, LogsQuery(big_run_id, limit=1000))),
        }

    @staticmethod
    def _filtered(cursor: Any, params: dict[str, Any], top: int) -> tuple[tuple[str, dict[str, Any]], ...]:
        """A filtered page's two statements as list_runs runs them, in the narrowest window that holds
        the page: the oldest start among the page's runs, on narrow columns; then the page from it."""
        for from_ns in history._windows(top, 0):
            bound = _statement("history_bound.sql", {**params, "from_ns": from_ns})
            found, oldest = cursor.execute(*bound).fetchone()
            if found >= params["limit"]:
                break
        return bound, _statement("history.sql", {**params, "from_ns": oldest})

    def bodies(self) -> dict[str, bytes]:
        return {"history": self.calls["list_runs whole"](), "logs": self.calls["run_logs whole"]()}

    def timed(self) -> dict[str, Callable[[], Any]]:
        def statement(sql: str, params: dict[str, Any]) -> Callable[[], Any]:
            return lambda: self.cursor.execute(sql, params).fetchall()

        return {**{name: statement(*given) for name, given in self.statements.items()}, **self.calls}


def _statement(name: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A history statement with the filters ``params`` gives, and the parameters it names."""
    sql, names = history.history_sql(name, frozenset(params))
    return sql, {name: params[name] for name in names}


def _time(fn: Callable[[], Any]) -> float:
    begin = time.perf_counter()
    fn()
    return 1000 * (time.perf_counter() - begin)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    report, info, db_path = start_report(args, workdir, "floors")
    database = Database.open(db_path)
    cursor = database.cursor()
    parts = Parts(cursor, info.big_run_ids[0], info.busiest_agents[0])
    for name, body in parts.bodies().items():
        (workdir / f"{name}.json").write_bytes(body)
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(workdir)], stdout=subprocess.PIPE, text=True)
    samples: dict[str, list[float]] = {}
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        timed = parts.timed()
        with httpx.Client(base_url=url, timeout=60) as client:
            for name in BODIES:
                timed[f"HTTP: {name} body"] = lambda name=name: client.get(f"/{name}").content
            print(f"{len(timed)} parts, {ROUNDS} rounds, interleaved ...", flush=True)
            for round_ in range(ROUNDS + 2):
                for name, fn in timed.items():
                    elapsed = _time(fn)
                    if round_ >= 2:  # the first two rounds warm up
                        samples.setdefault(name, []).append(elapsed)
    finally:
        server.terminate()
        server.wait(30)
        cursor.close()
        database.close()
    report["body_bytes"] = {name: (workdir / f"{name}.json").stat().st_size for name in BODIES}
    report["parts"] = {name: _summary(values) for name, values in samples.items()}
    report["floors"] = floors(report["parts"])
    return report


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return {"p50_ms": statistics.median(ordered), "p90_ms": p90, "min_ms": ordered[0]}


FLOORS = {
    "history first page": ("history page statement", "HTTP: history body"),
    "history, agent_id=": ("agent_id=: bound statement", "agent_id=: page statement", "HTTP: history body"),
    "logs of 1,000 nodes, documents stored ready-made": (
        "run statement",
        "spans: + attributes as stored",
        "HTTP: logs body",
    ),
    "logs of 1,000 nodes, documents built as now": ("run statement", "spans: + documents", "HTTP: logs body"),
}


def floors(parts: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    """Each floor: the sum of its parts' medians."""
    return {
        name: {"p50_ms": sum(parts[part]["p50_ms"] for part in used), "parts": list(used)}
        for name, used in FLOORS.items()
    }


def print_report(report: dict[str, Any]) -> None:
    print(f"\nmachine: {report['machine']}")
    print(f"bodies: {', '.join(f'{name} {size:,} bytes' for name, size in report['body_bytes'].items())}\n")
    print(f"{'part':36s} {'p50 ms':>8s} {'p90 ms':>8s} {'min ms':>8s}")
    for name, figures in report["parts"].items():
        print(f"{name:36s} {figures['p50_ms']:8.2f} {figures['p90_ms']:8.2f} {figures['min_ms']:8.2f}")
    print(f"\n{'floor (sum of the parts p50)':52s} {'ms':>6s}")
    for name, floor in report["floors"].items():
        print(f"{name:52s} {floor['p50_ms']:6.1f}   = {' + '.join(floor['parts'])}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        serve_bodies(Path(argv[1]))
        return 0
    parser = store_arguments(__doc__)
    args = parser.parse_args(argv)
    report = run_in_workdir(args, "agentlog-floors-", lambda workdir: run(args, workdir))
    print_report(report)
    write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
