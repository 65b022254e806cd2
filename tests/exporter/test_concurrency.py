"""Runs recorded at once from asyncio tasks and threads: each node lands in its own run, under its own parent."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import agentlog
from tests.exporter.agents import embedded_rows

TASKS = 8
THREADS = 4
RUNS_PER_THREAD = 5
STEPS = 3


async def async_run(index: int) -> str:
    with agentlog.run("async-agent", input=f"task-{index}") as run:
        for step in range(STEPS):
            with agentlog.node(f"step-{index}-{step}", type="llm"):
                await asyncio.sleep(0)  # let every other task run in between
                with agentlog.node(f"tool-{index}-{step}", type="tool"):
                    await asyncio.sleep(0)
        return run.run_id


def thread_runs(worker: int, barrier: threading.Barrier) -> list[str]:
    barrier.wait()  # all threads record at the same time
    ids = []
    for n in range(RUNS_PER_THREAD):
        index = 100 + worker * RUNS_PER_THREAD + n
        with agentlog.run("thread-agent", input=f"task-{index}") as run:
            for step in range(STEPS):
                with (
                    agentlog.node(f"step-{index}-{step}", type="llm"),
                    agentlog.node(f"tool-{index}-{step}", type="tool"),
                ):
                    pass
            ids.append(run.run_id)
    return ids


def check_runs_are_separate(pipeline: agentlog.Pipeline, run_ids: list[str]) -> None:
    assert pipeline.force_flush(timeout_s=10)
    spans = embedded_rows(pipeline, "SELECT trace_id, span_id, parent_span_id, name, input FROM spans")
    by_run: dict[str, list[dict[str, str]]] = defaultdict(list)
    for span in spans:
        by_run[span["trace_id"]].append(span)
    assert sorted(by_run) == sorted(run_ids)
    for run_spans in by_run.values():
        (root,) = [s for s in run_spans if s["parent_span_id"] is None]
        index = root["input"].removeprefix("task-")
        names = {s["span_id"]: s["name"] for s in run_spans}
        parents = sorted((s["name"], names[s["parent_span_id"]]) for s in run_spans if s["parent_span_id"])
        assert parents == sorted(
            [(f"step-{index}-{step}", root["name"]) for step in range(STEPS)]
            + [(f"tool-{index}-{step}", f"step-{index}-{step}") for step in range(STEPS)]
        )
    summaries = embedded_rows(pipeline, "SELECT status, node_count FROM run_summaries")
    assert summaries == [{"status": "success", "node_count": 2 * STEPS}] * len(run_ids)


def test_asyncio_tasks_and_threads_recording_at_once_do_not_mix(embedded: agentlog.Pipeline) -> None:
    barrier = threading.Barrier(THREADS + 1)
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(thread_runs, worker, barrier) for worker in range(THREADS)]

        async def tasks() -> list[str]:
            barrier.wait()
            return list(await asyncio.gather(*(async_run(i) for i in range(TASKS))))

        run_ids = asyncio.run(tasks())
        for future in futures:
            run_ids.extend(future.result())
    assert len(set(run_ids)) == TASKS + THREADS * RUNS_PER_THREAD
    check_runs_are_separate(embedded, run_ids)


def test_bind_context_carries_the_run_into_worker_threads(embedded: agentlog.Pipeline) -> None:
    @agentlog.node(type="tool")
    def fetch(url: str) -> str:
        return f"<html>{url}</html>"

    urls = [f"https://example.com/{i}" for i in range(6)]
    with agentlog.run("crawler") as run, ThreadPoolExecutor(3) as pool:
        pages = list(pool.map(agentlog.bind_context(fetch), urls))
        pool.submit(fetch, "https://example.com/elsewhere").result()
    assert pages == [f"<html>{url}</html>" for url in urls]
    assert embedded.force_flush(timeout_s=10)
    fetches = embedded_rows(
        embedded, "SELECT trace_id, parent_span_id FROM spans WHERE name = 'fetch' ORDER BY start_time"
    )
    bound = [f for f in fetches if f["trace_id"] == run.run_id]
    assert len(bound) == len(urls)
    assert {f["parent_span_id"] for f in bound} == {run.span_id}
    # Without bind_context a worker thread starts from an empty context: its node is a trace of its own.
    (stray,) = [f for f in fetches if f["trace_id"] != run.run_id]
    assert stray["parent_span_id"] is None


def test_to_thread_carries_the_run_without_help(embedded: agentlog.Pipeline) -> None:
    def blocking_step() -> None:
        with agentlog.node("parse_pdf", type="tool"):
            pass

    async def agent() -> str:
        with agentlog.run("reader") as run:
            await asyncio.to_thread(blocking_step)
            return run.run_id

    run_id = asyncio.run(agent())
    assert embedded.force_flush(timeout_s=10)
    (summary,) = embedded_rows(embedded, "SELECT node_count FROM run_summaries WHERE run_id = ?", [run_id])
    assert summary["node_count"] == 1
