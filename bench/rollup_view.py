"""What the run_rollups view costs the reads: compacted store vs many uncompacted partials (a short timing).

Run from the repository root (about a minute on the reference machine)::

    .venv/bin/python bench/rollup_view.py               # 50,000 runs
    .venv/bin/python bench/rollup_view.py --runs 20000

1. A bigstore.py store of ``--runs`` runs in a temporary directory, compacted
   as a writer leaves it once idle.
2. Each read (history's first page, unfiltered and for one agent; a run's
   logs; stats; metrics without kept days) timed in process, median of
   ``--repeat``, on the compacted store.
3. For each of ``--partials``: that many partial rows for the newest runs, as
   writers append them between compactions (a copy of each run's compacted
   row with every sum and count zero, so every figure stays the same and every
   such run goes through the view's merge), the same reads timed again, then
   ``compact_runs`` timed; and the reads once more, compacted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bigstore
from agentlog.query import HistoryQuery, LogsQuery, MetricsQuery, StatsQuery, list_runs, run_logs, run_stats
from agentlog.query.metrics import agent_metrics
from agentlog.query.scope import LOCAL
from agentlog.store import Database, compact_runs

# A partial that changes nothing: the run's own structs (least/greatest of equals), zero counts and sums.
ADD_PARTIALS = """
INSERT INTO run_partials BY NAME
SELECT * REPLACE (
    0 AS span_count, 0 AS node_count, 0 AS failed_nodes, 0 AS input_tokens, 0 AS output_tokens,
    0 AS cache_read_tokens, 0 AS reasoning_tokens, 0 AS total_tokens, 0 AS cost_usd,
    0 AS reported_cost_nodes, 0 AS computed_cost_nodes, 0 AS unknown_cost_nodes, [] AS models,
    0 AS usage_spans, 0 AS fallback_input_tokens, 0 AS fallback_output_tokens, 0 AS fallback_cache_read_tokens,
    0 AS fallback_reasoning_tokens, 0 AS fallback_total_tokens, 0 AS fallback_cost_usd,
    0 AS fallback_reported_cost_nodes, 0 AS fallback_computed_cost_nodes, 0 AS fallback_unknown_cost_nodes,
    0 AS cache_write_tokens, 0 AS fallback_cache_write_tokens
)
FROM run_compacted
ORDER BY started_ns DESC
LIMIT $partials
"""


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _reads(cursor: Any, info: bigstore.StoreInfo) -> dict[str, Callable[[], Any]]:
    now = info.t_end_ns
    agent = info.busiest_agents[0]
    recent = list_runs(cursor, LOCAL, HistoryQuery(limit=1), now).runs[0]["run_id"]
    return {
        "history": lambda: list_runs(cursor, LOCAL, HistoryQuery(), now),
        "history agent": lambda: list_runs(cursor, LOCAL, HistoryQuery(agent_id=agent), now),
        "logs recent run": lambda: run_logs(cursor, LOCAL, LogsQuery(recent)),
        "logs big run": lambda: run_logs(cursor, LOCAL, LogsQuery(info.big_run_ids[0])),
        "stats 7 days": lambda: run_stats(cursor, LOCAL, StatsQuery(days=7), now),
        "metrics 7 days": lambda: agent_metrics(cursor, LOCAL, MetricsQuery(days=7), now),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--partials", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="agentlog-rollup-view-") as directory:
        path = Path(directory) / "store.duckdb"
        started = time.perf_counter()
        info = bigstore.build(path, args.runs, progress=False)
        print(f"store: {info.runs:,} runs, {info.spans:,} spans, built in {time.perf_counter() - started:.1f} s")
        database = Database.open(path)
        cursor = database.cursor()
        phases: dict[str, dict[str, float]] = {}
        phases["compacted"] = {name: _median_ms(fn, args.repeat) for name, fn in _reads(cursor, info).items()}
        compaction_ms = {}
        for partials in args.partials:
            cursor.execute(ADD_PARTIALS, {"partials": partials})
            label = f"{partials:,} partials"
            phases[label] = {name: _median_ms(fn, args.repeat) for name, fn in _reads(cursor, info).items()}
            started = time.perf_counter()
            compact_runs(cursor)
            compaction_ms[partials] = (time.perf_counter() - started) * 1000
        phases["compacted again"] = {name: _median_ms(fn, args.repeat) for name, fn in _reads(cursor, info).items()}
        database.close()
    names = list(phases["compacted"])
    print(f"{'ms (median)':<18}" + "".join(f"{phase:>18}" for phase in phases))
    for name in names:
        print(f"{name:<18}" + "".join(f"{phases[phase][name]:>18.1f}" for phase in phases))
    for partials, ms in compaction_ms.items():
        print(f"compacting {partials:,} partials: {ms:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
