"""Small agents instrumented with agentlog, as an agent developer would write them, and ways to read their runs."""

from __future__ import annotations

import asyncio
import socket
from decimal import Decimal
from typing import Any

import agentlog
from agentlog.proto.pricing import price_usd

FAST_EXPORT_MS = 20  # tests flush explicitly; a short delay keeps the rest quick too
PLANNER_USAGE = {"input_tokens": 1000, "output_tokens": 100}
WRITER_USAGE = {
    "input_tokens": 2000,  # cache reads and writes included
    "output_tokens": 300,
    "cache_read_tokens": 1000,
    "cache_write_tokens": 500,
    "reasoning_tokens": 120,
}


class SearchTimeout(TimeoutError):
    """The fake search tool gave up."""


def triage(
    task: str,
    *,
    user: str = "alice",
    session: str = "s-1",
    search_fails_once: bool = False,
    crash: bool = False,
) -> str:
    """A bug triager: plan (gpt-4o), search (a tool that may time out once; retried), write (claude-sonnet-4)."""
    with agentlog.run("bug-triager", input=task, user_id=user, session_id=session) as run:
        with run.node("planner", type="llm", model="gpt-4o", provider="openai", input=task) as node:
            node.record_usage(**PLANNER_USAGE)
            node.set_output("search for similar issues, then write the triage note")
        for attempt in (1, 2):
            try:
                search(task, attempt=attempt, fail=search_fails_once)
                break
            except SearchTimeout:
                continue
        with run.node("writer", type="llm", model="claude-sonnet-4", provider="anthropic") as node:
            node.record_usage(**WRITER_USAGE)
            if crash:
                raise RuntimeError("writer output rejected by the guardrail")
            node.set_output("No issues found")
        run.set_output("No issues found")
        return run.run_id


@agentlog.node(type="tool")
def search(query: str, attempt: int, fail: bool) -> list[dict[str, Any]]:
    if fail and attempt == 1:
        raise SearchTimeout("issue tracker did not answer")
    return [{"id": 1199, "title": "Session cookie lost"}]


@agentlog.node(type="tool")
async def fetch_diff(pr: int) -> str:
    await asyncio.sleep(0)
    return f"diff of #{pr}"


@agentlog.node(type="llm", model="gpt-4o", provider="openai")
async def review(diff: str) -> str:
    await asyncio.sleep(0)
    agentlog.current_node().record_usage(input_tokens=500, output_tokens=50)
    return "approve"


@agentlog.agent("pr-reviewer")
async def pr_reviewer(pr: int) -> str:
    diffs = await asyncio.gather(fetch_diff(pr), fetch_diff(pr + 1))
    return await review(" ".join(diffs))


def expected_triage_cost(start_ns: int) -> Decimal:
    """What agentlog should price a triage run at: its two LLM calls, priced the day it ran."""
    planner = price_usd("gpt-4o", "openai", 1000, 0, 0, 100, start_ns)
    writer = price_usd("claude-sonnet-4", "anthropic", 2000, 1000, 500, 300, start_ns)
    assert planner is not None and writer is not None
    return planner + writer


def embedded_rows(pipeline: agentlog.Pipeline, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """Rows of a query on an embedded pipeline's database, as dicts."""
    assert pipeline.database is not None
    cursor = pipeline.database.cursor()
    try:
        result = cursor.execute(sql, params or [])
        names = [column[0] for column in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        cursor.close()


def closed_port() -> int:
    """A loopback port nothing listens on: a collector that is down (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
