"""Web page benchmark: time from navigation to the first rows of the runs page, and to a 1,000-node run's
waterfall, measured in the browser (Playwright driving the system's headless Chromium) against ``agentlog
serve`` on bench/bigstore.py's store.

Run from the repository root::

    .venv/bin/python bench/web.py --quick            # 100,000 runs (the issue's size)
    .venv/bin/python bench/web.py --quick --cache-dir /path/to/bench/.cache --json /tmp/web.json

1. The store: bench/bigstore.py's, from the cache or built (its big runs have 1,000 nodes each); the
   server gets a copy (bench/served.py).
2. Each measurement is one navigation in a fresh browser context (nothing cached, no service worker):
   ``page.goto`` of the URL, then the time, on the page's own clock (``performance.now()``, zero at
   navigation start), when a MutationObserver first saw the element: ``tr.run`` (the runs page's first
   rows) or ``.wf-row`` (the waterfall's first rows, drawn after every page of the run's outline arrived).
   The first navigation of each page is reported apart (cold: the server's first query of that shape).
   Resource Timing splits the warm figures: until the page's first API request (history or logs) starts
   (HTML, modules, the script's start), and from then until its last API response ended.
3. Rounds interleave the pages: runs page, the runs page filtered by the busiest agent, each big run.
"""

from __future__ import annotations

import math
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

import served

ROUNDS = 20
RUNS_TARGET_MS = 300.0
WATERFALL_TARGET_MS = 500.0

# Recorded as soon as the element is in the DOM: the page's clock, zero at navigation start.
WATCH = """
(() => {
  const seen = {};
  window.__agentlogSeen = seen;
  const check = () => {
    for (const selector of ["tr.run", ".wf-row"])
      if (!(selector in seen) && document.querySelector(selector)) seen[selector] = performance.now();
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true });
})();
"""


API_TIMING = """
(selector) => {
  const api = performance.getEntriesByType("resource")
    .filter((e) => e.name.includes("/api/v1/agents/history") || e.name.includes("/api/v1/agents/logs"));
  return {
    shown: window.__agentlogSeen[selector],
    api_start: api.length ? Math.min(...api.map((e) => e.startTime)) : null,
    api_end: api.length ? Math.max(...api.map((e) => e.responseEnd)) : null,
  };
}
"""


def navigate(browser: Browser, url: str, selector: str) -> dict[str, float]:
    """When the element appeared, when the page's first API request (history or logs) started and its last ended."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        context.add_init_script(WATCH)
        page = context.new_page()
        page.goto(url, wait_until="commit")
        page.wait_for_selector(selector, timeout=30_000)
        timing: dict[str, float] = page.evaluate(API_TIMING, selector)
        return timing
    finally:
        context.close()


def summary(samples: list[float]) -> dict[str, Any]:
    """Median, 95th percentile (nearest rank: of 20 samples the 19th smallest, of 10 the largest) and max,
    with the samples in the order they were taken."""
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[math.ceil(len(ordered) * 0.95) - 1], 1),
        "max_ms": round(ordered[-1], 1),
        "samples_ms": [round(sample, 1) for sample in samples],
    }


def main(argv: list[str] | None = None) -> int:
    parser = served.store_arguments(__doc__ or "")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("needs Chromium on PATH", file=sys.stderr)
        return 2

    def run(workdir: Path) -> dict[str, Any]:
        report, info, db_path = served.start_report(args, workdir, "web")
        server = served.StoreServer(db_path, workdir / "server.log", memory_limit=args.memory_limit)
        try:
            pages = {
                "runs page, first rows": ("/", "tr.run"),
                f"runs page of {info.busiest_agents[0]}, first rows": (
                    f"/?agent_id={info.busiest_agents[0]}",
                    "tr.run",
                ),
                **{
                    f"1,000-node run {run_id[:8]}, waterfall": (f"/runs/{run_id}", ".wf-row")
                    for run_id in info.big_run_ids[:3]
                },
            }
            samples: dict[str, list[float]] = {name: [] for name in pages}
            before_api: dict[str, list[float]] = {name: [] for name in pages}
            in_api: dict[str, list[float]] = {name: [] for name in pages}
            cold: dict[str, float] = {}
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
                try:
                    for round_ in range(args.rounds + 1):
                        for name, (path, selector) in pages.items():
                            timing = navigate(browser, server.url + path, selector)
                            if round_ == 0:
                                cold[name] = round(timing["shown"], 1)
                            else:
                                samples[name].append(timing["shown"])
                                before_api[name].append(timing["api_start"])
                                in_api[name].append(timing["api_end"] - timing["api_start"])
                finally:
                    browser.close()
            report["cold_ms"] = cold
            report["warm"] = {name: summary(values) for name, values in samples.items()}
            report["warm_until_first_api_request"] = {name: summary(v) for name, v in before_api.items()}
            report["warm_in_api_requests"] = {name: summary(v) for name, v in in_api.items()}
            report["targets_ms"] = {"runs page first rows": RUNS_TARGET_MS, "waterfall": WATERFALL_TARGET_MS}
        finally:
            server.stop()
        return report

    started = time.perf_counter()
    report = served.run_in_workdir(args, "agentlog-web-bench-", run)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(f"\nmachine: {report['machine']}")
    print(f"store: {report['store']['runs']:,} runs, {report['store']['spans']:,} spans")
    print(f"\n{'page':<48} {'cold':>7} {'p50':>7} {'p95':>7} {'max':>7}   p50 before API, in API")
    for name, warm in report["warm"].items():
        cold = report["cold_ms"][name]
        before = report["warm_until_first_api_request"][name]["p50_ms"]
        inside = report["warm_in_api_requests"][name]["p50_ms"]
        print(
            f"{name:<48} {cold:>7.1f} {warm['p50_ms']:>7.1f} {warm['p95_ms']:>7.1f} {warm['max_ms']:>7.1f}"
            f"   {before:>7.1f} {inside:>7.1f}"
        )
    served.write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
