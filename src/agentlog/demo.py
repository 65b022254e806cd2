"""``agentlog demo``: a few runs of small instrumented agents, so there is history to look at.

Three agents with fake LLM and tool steps (no network): a bug triager, an
async PR reviewer, and a docs assistant with retrieval. Models, providers and
token counts are realistic, so agentlog prices the calls. Two runs hit a
flaky tool and recover by retrying; one run fails for good. The agents use
agentlog's public API only, the way an agent developer would.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import agentlog
from agentlog.errors import AgentlogError
from agentlog.settings import DEFAULT_API_URL

SEED = 42  # the same runs every time, so the tour's output can be compared
LIVE_DELAY_MS = 200  # export often: whoever watches the web page sees each run go running -> finished
EXPORT_TIMEOUT_S = 3.0  # a local collector answers in milliseconds; do not retry a closed port for 10 s


class ToolTimeout(TimeoutError):
    """A fake tool's fake network gave up."""


SCRIPTED_FAILURES = (ToolTimeout, PermissionError)


@dataclass(frozen=True)
class DemoResult:
    """The runs the demo recorded, and what became of their spans."""

    runs: list[DemoRun]
    counts: agentlog.ExportCounts


@dataclass(frozen=True)
class DemoRun:
    """One run the demo recorded."""

    run_id: str
    agent: str
    outcome: str  # "success", "recovered" or "failed"


class Steps:
    """Fake latency and token counts, deterministic for a seed, scaled by ``pace`` (0: no waiting)."""

    def __init__(self, pace: float, sleep: Callable[[float], None], seed: int = SEED) -> None:
        self._pace = pace
        self._sleep = sleep
        self._random = random.Random(seed)  # noqa: S311 - fake latencies, not secrets
        self.run_ids: list[str] = []

    def started(self, node: agentlog.Node) -> None:
        """Note the run id of a run that has just started (the demo prints it)."""
        self.run_ids.append(node.run_id)

    def wait(self, low: float, high: float) -> None:
        if self._pace > 0:
            self._sleep(self._random.uniform(low, high) * self._pace)

    async def wait_async(self, low: float, high: float) -> None:
        if self._pace > 0:
            await asyncio.sleep(self._random.uniform(low, high) * self._pace)

    def tokens(self, around: int) -> int:
        return int(around * self._random.uniform(0.8, 1.2))


def llm_call(steps: Steps, node: agentlog.Node, prompt: str, answer: str, *, input_tokens: int, output_tokens: int,
             cache_read_tokens: int = 0, reasoning_tokens: int = 0) -> str:  # fmt: skip
    """A fake model call: waits like one, reports usage like one."""
    node.set_input([{"role": "system", "content": "You are a careful engineer."}, {"role": "user", "content": prompt}])
    steps.wait(0.3, 0.8)
    node.record_usage(
        input_tokens=steps.tokens(input_tokens),
        output_tokens=steps.tokens(output_tokens),
        cache_read_tokens=cache_read_tokens,
        reasoning_tokens=reasoning_tokens,
    )
    node.set_output([{"role": "assistant", "content": answer}])
    return answer


def bug_triager(steps: Steps, issue: str, *, flaky_search: bool, unreadable_file: bool, user: str) -> str:
    """Plan, search similar issues (retrying once on a timeout), read the suspect file, write a triage note."""
    with agentlog.run("bug-triager", input=issue, user_id=user, session_id=f"triage-{user}") as run:
        steps.started(run)
        with run.node("planner", type="llm", model="gpt-4o", provider="openai") as node:
            plan = llm_call(steps, node, issue, "1. search similar issues 2. read auth/session.py 3. write triage",
                            input_tokens=1450, output_tokens=180)  # fmt: skip
        for attempt in (1, 2):
            try:
                with run.node("search_issues", type="tool", input={"query": issue[:40], "limit": 5}) as node:
                    steps.wait(0.1, 0.3)
                    if flaky_search and attempt == 1:
                        raise ToolTimeout("issue tracker did not answer within 10s")
                    node.set_output([{"id": 1199, "title": "Session cookie lost after deploy"}])
                break
            except ToolTimeout:
                continue  # the agent retries: the run recovers
        with run.node("read_file", type="tool", input={"path": "auth/session.py"}) as node:
            steps.wait(0.05, 0.15)
            if unreadable_file:
                raise PermissionError("auth/session.py: permission denied")
            node.set_output("def load_session(request): ...")
        with run.node("writer", type="llm", model="claude-sonnet-4", provider="anthropic") as node:
            note = llm_call(steps, node, plan, "Likely regression of #1199: the session cookie domain changed.",
                            input_tokens=3200, output_tokens=420, cache_read_tokens=2048,
                            reasoning_tokens=256)  # fmt: skip
        run.set_output(note)
        return note


def pr_reviewer(steps: Steps, pr: str, *, flaky_tests: bool) -> str:
    """An async agent: fetch the diff and the CI status at once, review, re-run flaky tests once."""

    @agentlog.node(type="tool")
    async def fetch_diff(pr: str) -> str:
        await steps.wait_async(0.1, 0.3)
        return "+ if user.is_admin and not user.mfa: ..."

    @agentlog.node(type="tool")
    async def ci_status(pr: str, attempt: int) -> str:
        await steps.wait_async(0.1, 0.3)
        if flaky_tests and attempt == 1:
            raise ToolTimeout("CI runner lost (test_login_flow timed out)")
        return "142 passed"

    @agentlog.node(type="llm", model="gpt-4o", provider="openai")
    async def review(diff: str, tests: str) -> str:
        await steps.wait_async(0.3, 0.8)
        agentlog.current_node().record_usage(input_tokens=steps.tokens(5200), output_tokens=steps.tokens(610))
        return "Approve with one comment: admins without MFA should be refused, not logged."

    @agentlog.agent("pr-reviewer")
    async def reviewer(pr: str) -> str:
        steps.started(agentlog.current_node())
        diff, tests = await asyncio.gather(fetch_diff(pr), _retrying(ci_status, pr))
        return await review(diff, tests)

    return asyncio.run(reviewer(pr))


async def _retrying(tool: Callable[..., Any], *args: Any) -> Any:
    try:
        return await tool(*args, attempt=1)
    except ToolTimeout:
        return await tool(*args, attempt=2)


def docs_assistant(steps: Steps, question: str, *, user: str) -> str:
    """Embed the question, retrieve passages, answer with a small model."""
    with agentlog.run("docs-assistant", input=question, user_id=user, session_id=f"docs-{user}") as run:
        steps.started(run)
        with run.node("embed_query", type="embedding", model="text-embedding-3-small", provider="openai") as node:
            steps.wait(0.05, 0.1)
            node.record_usage(input_tokens=steps.tokens(24))
        with run.node("search_docs", type="retriever", input=question) as node:
            steps.wait(0.05, 0.2)
            node.set_output(["docs/retention.md#ttl", "docs/cli.md#executions-cleanup"])
        with run.node("answer", type="llm", model="gpt-4o-mini", provider="openai") as node:
            answer = llm_call(steps, node, question, "Runs are kept 30 days; `agentlog executions cleanup` trims them.",
                              input_tokens=2100, output_tokens=140)  # fmt: skip
        run.set_output(answer)
        return answer


def scripted_runs(steps: Steps) -> list[tuple[str, str, Callable[[], object]]]:
    """(agent, outcome, call) for each run the demo records, in order."""
    return [
        ("bug-triager", "success", lambda: bug_triager(
            steps, "Login page returns 500 after the 2.14 deploy", flaky_search=False, unreadable_file=False,
            user="alice")),
        ("docs-assistant", "success", lambda: docs_assistant(steps, "How long are runs kept?", user="bob")),
        ("bug-triager", "recovered", lambda: bug_triager(
            steps, "Password reset mail never arrives", flaky_search=True, unreadable_file=False, user="bob")),
        ("pr-reviewer", "success", lambda: pr_reviewer(steps, "PR #42: refuse admins without MFA", flaky_tests=False)),
        ("pr-reviewer", "recovered", lambda: pr_reviewer(steps, "PR #57: rotate session keys", flaky_tests=True)),
        ("bug-triager", "failed", lambda: bug_triager(
            steps, "Sessions expire after 5 minutes", flaky_search=False, unreadable_file=True, user="alice")),
    ]  # fmt: skip


def run_demo(
    *,
    endpoint: str | None = None,
    database: str | None = None,
    pace: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Record the demo's runs to ``endpoint`` (a collector) or ``database`` (embedded)."""
    pipeline = agentlog.configure(
        service_name="agentlog-demo",
        endpoint=endpoint,
        database=database,
        schedule_delay_ms=LIVE_DELAY_MS,
        timeout_s=EXPORT_TIMEOUT_S,
    )
    steps = Steps(pace, sleep)
    recorded: list[DemoRun] = []
    try:
        for agent, outcome, call in scripted_runs(steps):
            # A scripted failure is recorded on its run, and the demo goes on.
            with contextlib.suppress(*SCRIPTED_FAILURES):
                call()
            recorded.append(DemoRun(steps.run_ids[-1], agent, outcome))
            say(f"  {steps.run_ids[-1]}  {agent:<15} {outcome}")
        pipeline.force_flush()
    finally:
        pipeline.shutdown()
    return DemoResult(recorded, pipeline.counts())


def main(
    *,
    endpoint: str | None,
    database: str | None,
    pace: float,
    say: Callable[[str], None],
    api_url: str = DEFAULT_API_URL,
) -> int:
    """``agentlog demo``: record the runs, say where to look at them; the exit status."""
    if endpoint is not None and database is not None:
        say("agentlog demo: give --endpoint or --db, not both")
        return 2
    try:
        where = f"database {database}" if database is not None else f"the collector at {endpoint or 'localhost:4317'}"
        say(f"agentlog demo: recording {len(scripted_runs(Steps(0, time.sleep)))} runs into {where}")
        result = run_demo(endpoint=endpoint, database=database, pace=pace, say=say)
    except (AgentlogError, ValueError) as error:
        say(f"agentlog demo: {error}")
        return 2
    if result.counts.lost:
        say(f"agentlog demo: {result.counts.lost} spans were not delivered; is `agentlog serve` running?")
        return 1
    if database is not None:
        say(f"Look at them: agentlog serve --db {database}, then open {DEFAULT_API_URL}/")
        say(f"         or: duckdb {database} -c 'SELECT run_id, status, agent, total_tokens, cost_usd FROM runs'")
    else:
        say(f"Look at them: open {api_url}/, or curl {api_url}/api/v1/agents/history")
    return 0
