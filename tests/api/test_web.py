"""The web page in a real browser: Playwright driving the system's headless Chromium (never a downloaded one).

One server per module, with runs sent by the real OpenTelemetry SDK over OTLP/gRPC; one browser per module,
a fresh context per test; any console error or uncaught page error fails the test that caused it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode, set_span_in_context

import agentlog
from agentlog.store import Database
from agentlog.store.keys import create_key
from tests.api.sdk_runs import SECOND, Step, sdk_tracer, send_run
from tests.conftest import ServerHandle, start_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (the test extra)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (.ci/run installs Debian's chromium)")

# The README's screenshots: taken on every run, kept where AGENTLOG_SCREENSHOTS says (docs/images remakes the
# README's), else in a temporary directory, so that a test run does not leave the checkout changed.
IMAGES = Path(os.environ.get("AGENTLOG_SCREENSHOTS") or Path(tempfile.gettempdir()) / "agentlog-screenshots")
TIMEOUT_MS = 10_000
NOW = time.time_ns()
BASE = NOW - 3 * 3600 * SECOND  # three hours ago: within the dashboard's window
BULK = 60  # more than a page (50) of runs


@dataclass
class Seeded:
    server: ServerHandle
    chat: str = ""
    failed: str = ""
    later: str = ""
    big: str = ""
    big_nodes: int = 0
    bulk: list[str] = field(default_factory=list)


def send_chat_run(endpoint: str, start: int) -> str:
    """A run whose model call carries GenAI chat messages (with a tool call) and whose tool failed."""
    with sdk_tracer(endpoint) as tracer:
        root = tracer.start_span(
            "invoke_agent bug-triager",
            start_time=start,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "bug-triager",
                "user.id": "alice",
                "session.id": "s-web",
                "input.value": "Why does login fail?",
                "output.value": "The session cookie domain changed.",
            },
        )
        context = set_span_in_context(root)
        inputs = [
            {"role": "system", "parts": [{"type": "text", "content": "You triage bugs."}]},
            {"role": "user", "parts": [{"type": "text", "content": "Why does login fail?"}]},
        ]
        outputs = [
            {"role": "assistant", "finish_reason": "tool_call",
             "parts": [{"type": "tool_call", "id": "call_1", "name": "search_issues", "arguments": {"query": "login"}}]},
        ]  # fmt: skip
        llm = tracer.start_span(
            "chat gpt-4o",
            context=context,
            start_time=start + SECOND // 10,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.provider.name": "openai",
                "gen_ai.usage.input_tokens": 1200,
                "gen_ai.usage.output_tokens": 40,
                "gen_ai.input.messages": json.dumps(inputs),
                "gen_ai.output.messages": json.dumps(outputs),
            },
        )
        llm.end(end_time=start + SECOND)
        tool = tracer.start_span(
            "execute_tool search_issues",
            context=context,
            start_time=start + SECOND,
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "search_issues",
                "gen_ai.tool.call.arguments": '{"query": "login"}',
            },
        )
        try:
            raise TimeoutError("issue tracker did not answer")
        except TimeoutError as error:
            tool.record_exception(error)
        tool.set_status(Status(StatusCode.ERROR, "issue tracker did not answer"))
        tool.end(end_time=start + 2 * SECOND)
        root.set_status(Status(StatusCode.OK))  # the agent answered despite the tool
        root.end(end_time=start + 3 * SECOND)
        return f"{root.get_span_context().trace_id:032x}"


def send_many(endpoint: str, *, runs: int, nodes: int, agent: str, start: int) -> list[str]:
    """``runs`` runs of ``nodes`` nested nodes each, batched (one exporter, few requests)."""
    provider = TracerProvider(resource=Resource.create({"service.name": agent}))
    provider.add_span_processor(
        BatchSpanProcessor(
            OTLPSpanExporter(endpoint=endpoint, insecure=True), max_export_batch_size=512, max_queue_size=20_000
        )
    )
    tracer = provider.get_tracer("tests.web")
    ids = []
    for r in range(runs):
        at = start + r * SECOND
        root = tracer.start_span(f"invoke_agent {agent}", start_time=at,
                                 attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent,
                                             "user.id": "carol", "input.value": f"{agent} task {r}",
                                             "output.value": f"done {r}"})  # fmt: skip
        parents = [root]
        for n in range(nodes):
            parent = parents[min(len(parents) - 1, n % 4)]  # a few levels deep
            span = tracer.start_span(
                f"step-{n}",
                context=set_span_in_context(parent),
                start_time=at + n * 1_000_000,
                attributes={
                    "gen_ai.operation.name": "chat",
                    "gen_ai.request.model": "gpt-4o-mini",
                    "gen_ai.usage.input_tokens": 10,
                    "gen_ai.usage.output_tokens": 2,
                },
            )
            if n % 4 == 0:
                parents = [root, span]
            else:
                parents.append(span)
            span.end(end_time=at + n * 1_000_000 + 900_000)
        root.end(end_time=at + max(nodes, 1) * 1_000_000 + 1_000_000)
        ids.append(f"{root.get_span_context().trace_id:032x}")
    provider.force_flush(30_000)
    provider.shutdown()
    return ids


def wait_for_runs(server: ServerHandle, count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = server.query("SELECT count(*) FROM runs WHERE status <> 'running'")[0][0]
        if runs >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} runs stored")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    server = start_server(db=str(tmp_path_factory.mktemp("web") / "agentlog.duckdb"))
    try:
        s = Seeded(server)
        s.bulk = send_many(server.grpc_endpoint, runs=BULK, nodes=1, agent="bulk-agent", start=BASE - 3600 * SECOND)
        s.big_nodes = 10_000
        (s.big,) = send_many(server.grpc_endpoint, runs=1, nodes=s.big_nodes, agent="big-agent", start=BASE + SECOND)
        s.chat = send_chat_run(server.grpc_endpoint, BASE + 10 * SECOND)
        s.failed = send_run(server.grpc_endpoint, agent="pr-reviewer", user="bob", session="s-bob",
                            start=BASE + 20 * SECOND, input_text="Review PR #7", fail_root=True,
                            steps=[Step("planner"), Step("lint", kind="tool", fail=True)])  # fmt: skip
        s.later = send_run(server.grpc_endpoint, agent="bug-triager", user="alice", session="s-web",
                           start=BASE + 30 * SECOND, input_text="And logout?", output_text="Logout works.",
                           steps=[Step("planner", tokens=(300, 30)), Step("search_issues", kind="tool", seconds=3)])  # fmt: skip
        wait_for_runs(server, BULK + 4)
        yield s
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


class Page:
    """A fresh browser context's page that records console errors and page errors."""

    def __init__(self, browser: Any, base: str, allowed: tuple[str, ...] = ()) -> None:
        self.context = browser.new_context(viewport={"width": 1440, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.base = base
        self.errors: list[str] = []
        self.allowed = allowed
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def goto(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def close(self) -> None:
        self.context.close()
        unexpected = [e for e in self.errors if not any(a in e for a in self.allowed)]
        assert unexpected == [], unexpected


@pytest.fixture
def page(browser: Any, seeded: Seeded) -> Iterator[Page]:
    p = Page(browser, seeded.server.api_url)
    yield p
    p.close()


def run_ids(page: Any, selector: str = "tr.run") -> list[str]:
    return [row.get_attribute("data-run-id") for row in page.locator(selector).all()]


# ---- the runs page ----


def test_runs_page_shows_the_newest_runs_live_and_without_a_key_form(page: Page, seeded: Seeded) -> None:
    p = page.goto("/")
    p.locator(f'tr.run[data-run-id="{seeded.later}"]').wait_for()
    ids = run_ids(p)
    assert ids[:3] == [seeded.later, seeded.failed, seeded.chat]  # newest first
    assert len(ids) == 50
    row = p.locator(f'tr.run[data-run-id="{seeded.chat}"]')
    assert "bug-triager" in row.inner_text() and "Why does login fail?" in row.inner_text()
    assert row.locator("td.text").first.get_attribute("title") == "Why does login fail?"  # the full text on hover
    assert p.locator(f'tr.run[data-run-id="{seeded.failed}"] .badge').inner_text() == "failed"
    p.locator("#live", has_text="live").wait_for()
    assert p.locator("#keyform").is_hidden()
    # each row is one line tall
    heights = p.eval_on_selector_all("tr.run", "rows => rows.map(r => r.getBoundingClientRect().height)")
    assert max(heights) < 32, heights


def test_runs_page_pages_to_the_end(page: Page, seeded: Seeded) -> None:
    p = page.goto("/?agent_id=bulk-agent")
    p.locator("tr.run").first.wait_for()
    assert len(run_ids(p)) == 50
    p.get_by_role("button", name="Load more").click()
    p.locator("text=End of the history.").wait_for()
    assert run_ids(p) == list(reversed(seeded.bulk))


def test_runs_page_filters_from_the_form_and_the_address(page: Page, seeded: Seeded) -> None:
    p = page.goto("/?status=failed")
    p.locator(f'tr.run[data-run-id="{seeded.failed}"]').wait_for()
    assert run_ids(p) == [seeded.failed]
    p.get_by_role("link", name="Clear").click()
    p.wait_for_function("location.search === '' && document.querySelectorAll('tr.run').length === 50")
    p.locator("input[name=user_id]").fill("alice")
    p.locator("input[name=session_id]").fill("s-web")
    p.get_by_role("button", name="Filter").click()
    p.wait_for_function("location.search.includes('user_id=alice') && document.querySelectorAll('tr.run').length === 2")
    assert run_ids(p) == [seeded.later, seeded.chat]
    p.go_back()  # the History API: back to no filter, then to the failed filter
    p.wait_for_function("location.search === '' && document.querySelectorAll('tr.run').length === 50")
    p.go_back()
    p.wait_for_function("document.querySelectorAll('tr.run').length === 1")
    assert p.locator("select[name=status]").input_value() == "failed"
    # a time range: only the runs started before the bulk runs ended (none of the seeded ones)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((BASE + 15 * SECOND) / SECOND))
    p = page.goto(f"/?since={since}")
    p.wait_for_function("document.querySelectorAll('tr.run').length === 2")
    assert run_ids(p) == [seeded.later, seeded.failed]


def test_runs_page_searches_sorts_and_filters_by_model(page: Page, seeded: Seeded) -> None:
    p = page.goto("/?q=LOGOUT")
    p.wait_for_function("document.querySelectorAll('tr.run').length === 1")
    assert run_ids(p) == [seeded.later]
    p = page.goto("/")
    p.locator("tr.run").first.wait_for()
    p.locator("button[data-sort=tokens]").click()
    p.wait_for_url(re.compile(r"sort=tokens"))
    p.wait_for_function(f"document.querySelector('tr.run').dataset.runId === '{seeded.big}'")
    p = page.goto("/?model=gpt-4o")
    p.locator(f'tr.run[data-run-id="{seeded.later}"]').wait_for()
    ids = set(run_ids(p))
    assert {seeded.chat, seeded.failed, seeded.later} <= ids and not ids & set(seeded.bulk)
    # the filters' suggestions come from the facets
    p.wait_for_function("document.querySelectorAll('#agents option').length > 0")
    agents = p.eval_on_selector_all("#agents option", "options => options.map(o => o.value)")
    assert {"bulk-agent", "big-agent", "bug-triager", "pr-reviewer"} <= set(agents)


def test_runs_page_links_open_the_run_and_the_session(page: Page, seeded: Seeded) -> None:
    p = page.goto("/")
    link = p.locator(f'tr.run[data-run-id="{seeded.chat}"] a[href="/runs/{seeded.chat}"]')
    assert link.get_attribute("href") == f"/runs/{seeded.chat}"  # a real link: opens in a new tab too
    link.click()
    p.wait_for_url(f"**/runs/{seeded.chat}")
    p.locator("[data-span-id]").first.wait_for()


# ---- a run ----


def test_run_page_waterfall_and_detail(page: Page, seeded: Seeded) -> None:
    p = page.goto(f"/runs/{seeded.chat}")
    rows = p.locator(".wf-row[data-span-id]")
    rows.first.wait_for()
    assert rows.count() == 2
    spans = [r.get_attribute("data-span-id") for r in rows.all()]
    assert all(re.fullmatch(r"[0-9a-f]{16}", s or "") for s in spans)
    assert p.locator("#run-status").inner_text() == "success"
    assert "The session cookie domain changed." in p.locator("#final-output").inner_text()
    assert "issue tracker did not answer" in p.locator(".errors").inner_text()
    failed = p.locator(".wf-row[data-status=failed]")
    assert failed.count() == 1 and "execute_tool search_issues" in failed.inner_text()
    llm = rows.first
    assert "gpt-4o" in llm.inner_text() and "1240" in llm.inner_text()
    # bars: placed by start, sized by duration on one axis
    left = p.eval_on_selector_all(".bar", "bars => bars.map(b => parseFloat(b.style.left))")
    assert left[0] < left[1]

    llm.click()
    p.wait_for_url(re.compile(r"span=" + spans[0]))
    detail = p.locator(".detail")
    detail.locator(".msg.system", has_text="You triage bugs.").wait_for()
    assert detail.locator(".msg.user").inner_text().endswith("Why does login fail?")
    call = detail.locator(".msg.assistant .toolcall")
    assert "search_issues" in call.inner_text() and '"query": "login"' in call.inner_text()
    assert detail.locator("#span-id").inner_text() == spans[0]
    IMAGES.mkdir(parents=True, exist_ok=True)
    p.screenshot(path=str(IMAGES / "run.png"))
    detail.get_by_role("tab", name=re.compile("Attributes")).click()
    assert "gen_ai.request.model" in detail.inner_text()

    # keyboard: down selects the failed tool; its exception's stack trace shows
    p.locator(".wf-body").focus()
    p.keyboard.press("ArrowDown")
    p.wait_for_url(re.compile(r"span=" + spans[1]))
    p.locator(".detail").get_by_role("tab", name=re.compile("Events")).click()
    stack = p.locator(".detail pre.stack")
    assert "TimeoutError" in stack.inner_text() and "Traceback" in stack.inner_text()

    p.reload()  # the selection is in the address: shareable
    p.locator(".detail #span-id", has_text=spans[1]).wait_for()


def test_a_big_run_renders_only_what_is_on_screen_and_collapses(page: Page, seeded: Seeded) -> None:
    p = page.goto(f"/runs/{seeded.big}")
    p.locator(".wf-row").first.wait_for()
    assert p.locator(".totals").inner_text().startswith(f"{seeded.big_nodes} nodes")  # every page of logs
    rendered = p.locator(".wf-row").count()
    assert 10 < rendered < 120, rendered
    p.locator(".wf-body").evaluate("el => { el.scrollTop = el.scrollHeight; el.dispatchEvent(new Event('scroll')); }")
    p.locator(".wf-row", has_text=f"step-{seeded.big_nodes - 1}").wait_for()
    p.locator(".wf-body").evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    first = p.locator(".wf-row").first
    first.locator("button.toggle").click()  # step-0 has children (step-1..3)
    p.wait_for_function("document.querySelectorAll('.wf-row')[1].textContent.includes('step-4')")


def test_an_unknown_run_says_so(page: Page) -> None:
    page.allowed = ("status of 404",)
    p = page.goto("/runs/" + "ab" * 16)
    p.get_by_role("alert").wait_for()
    assert "no run with run_id" in p.get_by_role("alert").inner_text()


# ---- live ----


def test_a_live_run_goes_from_running_to_success_on_screen(browser: Any, seeded: Seeded) -> None:
    page = Page(browser, seeded.server.api_url)
    try:
        runs = page.goto("/")
        runs.locator("#live", has_text="live").wait_for()
        run_page = page.context.new_page()
        agentlog.configure(endpoint=seeded.server.grpc_endpoint, schedule_delay_ms=50, environ={})
        try:
            with agentlog.run("live-agent", input="streaming now", user_id="dave") as run:
                with run.node("think", type="llm", model="gpt-4o") as node:
                    run_id = f"{node.span.get_span_context().trace_id:032x}"
                    row = runs.locator(f'tr.run[data-run-id="{run_id}"]')
                    row.locator(".badge", has_text="running").wait_for()
                    run_page.goto(f"{seeded.server.api_url}/runs/{run_id}")
                    run_page.locator(".wf-row[data-status=running]", has_text="think").wait_for()
                    assert run_page.locator("#run-status").inner_text() == "running"
                    node.record_usage(input_tokens=10, output_tokens=5)
                run.set_output("all done")
            agentlog.flush(timeout_s=10)
        finally:
            agentlog.shutdown(timeout_s=5)
        row.locator(".badge", has_text="success").wait_for()
        run_page.locator("#run-status", has_text="success").wait_for()
        run_page.locator(".wf-row[data-status=success]", has_text="think").wait_for()
        assert "all done" in run_page.locator("#final-output").inner_text()
    finally:
        page.close()


# ---- dashboard, session, compare ----


def test_dashboard_draws_the_stats_and_metrics(page: Page, seeded: Seeded) -> None:
    p = page.goto("/dashboard")
    p.locator("[data-chart=runs] canvas").wait_for()
    for chart in ("runs", "duration", "tokens", "cost"):
        assert p.locator(f"[data-chart={chart}] canvas").count() == 1
    runs = httpx.get(seeded.server.api_url + "/api/v1/agents/stats", timeout=10).json()["runs"]
    assert runs >= BULK + 4
    assert p.locator("#stat-totals").inner_text().startswith(f"{runs} runs")
    agents = p.locator("[data-table=agents]").inner_text()
    assert "bulk-agent" in agents and "pr-reviewer" in agents
    assert "search_issues" in p.locator("[data-table=tools]").inner_text()
    assert "gpt-4o" in p.locator("[data-table=models]").inner_text()
    IMAGES.mkdir(parents=True, exist_ok=True)
    p.screenshot(path=str(IMAGES / "dashboard.png"), full_page=True)

    p.locator("input[name=agent_id]").fill("pr-reviewer")
    p.get_by_role("button", name="Apply").click()
    p.wait_for_url(re.compile(r"agent_id=pr-reviewer"))
    p.locator("#stat-totals", has_text="1 runs").wait_for()
    assert "bulk-agent" not in p.locator("[data-table=agents]").inner_text()


def test_session_page_shows_the_conversation_in_order(page: Page, seeded: Seeded) -> None:
    p = page.goto("/sessions/s-web")
    p.locator(".turn").first.wait_for()
    assert run_ids(p, ".turn") == [seeded.chat, seeded.later]  # oldest first
    text = p.locator("main").inner_text()
    assert text.index("Why does login fail?") < text.index("And logout?")
    assert "Logout works." in text
    assert p.locator("#session-totals").inner_text().startswith("2 runs")
    p.locator(f'.turn[data-run-id="{seeded.later}"] a[href="/runs/{seeded.later}"]').click()
    p.wait_for_url(f"**/runs/{seeded.later}")


def test_compare_aligns_nodes_and_highlights_differences(page: Page, seeded: Seeded) -> None:
    p = page.goto(f"/compare?a={seeded.failed}&b={seeded.later}")
    p.locator("#compare-nodes tbody tr").first.wait_for()
    keys = [r.get_attribute("data-key") for r in p.locator("#compare-nodes tbody tr").all()]
    assert keys == ["/planner#0", "/search_issues#0", "/lint#0"]  # b's own nodes after their matched predecessor
    planner = p.locator('#compare-nodes tr[data-key="/planner#0"]')
    assert planner.locator("td.diff").count() >= 2  # tokens 120 vs 330
    lint = p.locator('#compare-nodes tr[data-key="/lint#0"]')
    assert "absent" in lint.inner_text()
    totals = p.locator("#compare-totals").inner_text()
    assert "failed" in totals and "success" in totals
    assert p.locator("#compare-totals td.diff").count() >= 2


# ---- keys ----


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerHandle, str, str, str, str]]:
    db_path = tmp_path_factory.mktemp("keyed") / "agentlog.duckdb"
    database = Database.open(db_path)
    ingest_key, _ = create_key(database.cursor(), "acme", "ingest")
    read_key, _ = create_key(database.cursor(), "acme", "read")
    alice_key, _ = create_key(database.cursor(), "acme", "read", user_id="alice")
    database.close()
    server = start_server(db=str(db_path))
    try:
        headers = {"authorization": f"Bearer {ingest_key}"}
        alice = send_run(server.grpc_endpoint, agent="keyed-agent", user="alice", start=BASE, headers=headers)
        bob = send_run(server.grpc_endpoint, agent="keyed-agent", user="bob", start=BASE + SECOND, headers=headers)
        yield server, read_key, alice_key, alice, bob
    finally:
        server.stop()


REFUSED = ("status of 401", "WebSocket connection")  # what Chromium logs for a request the server refused


def test_with_keys_the_page_asks_for_one_and_a_user_key_sees_only_its_runs(
    browser: Any, keyed: tuple[ServerHandle, str, str, str, str]
) -> None:
    server, read_key, alice_key, alice, bob = keyed
    page = Page(browser, server.api_url, allowed=REFUSED)
    try:
        p = page.goto("/")
        p.locator("#keyform").wait_for()
        assert run_ids(p) == []
        p.locator("#key").fill(alice_key)
        p.get_by_role("button", name="Use key").click()
        p.locator(f'tr.run[data-run-id="{alice}"]').wait_for()
        assert run_ids(p) == [alice]
        assert p.locator("#keyform").is_hidden()
        p.locator("#live", has_text="live").wait_for()
        page.allowed = (*REFUSED, "status of 404")
        p.goto(f"{server.api_url}/runs/{bob}")  # the key is remembered; bob's run is not alice's to see
        p.get_by_role("alert").wait_for()
        assert "no run" in p.get_by_role("alert").inner_text()
        p.goto(f"{server.api_url}/runs/{alice}")
        p.locator(".wf-row[data-span-id]").first.wait_for()
        p.goto(f"{server.api_url}/sessions/s-1")  # both runs are in session s-1: alice sees hers
        p.locator(".turn").first.wait_for()
        assert run_ids(p, ".turn") == [alice]
        p.goto(f"{server.api_url}/dashboard")
        p.locator("#stat-totals", has_text="1 runs").wait_for()
        assert "keyed-agent" in p.locator("[data-table=agents]").inner_text()
        p.goto(f"{server.api_url}/compare?a={alice}&b={bob}")
        p.get_by_role("alert").wait_for()
    finally:
        page.close()

    page = Page(browser, server.api_url)
    try:
        p = page.goto(f"/#key={read_key}")  # a tenant-wide key from the link
        p.locator(f'tr.run[data-run-id="{alice}"]').wait_for()
        assert set(run_ids(p)) == {alice, bob}
        assert "key=" not in p.url
    finally:
        page.close()


# ---- chat messages, in each convention the normaliser reads ----

CONVENTIONS: dict[str, tuple[dict[str, Any], Any, Any]] = {
    # name: (attributes, expected input [(role, text or "call:name" or "result")], expected output)
    "genai": (
        {"gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]),
         "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
             {"type": "tool_call", "id": "c1", "name": "search", "arguments": {"q": "x"}}]}])},
        [["user", "hi"]],
        [["assistant", "call:search"]],
    ),
    "openinference": (
        {"llm.input_messages.0.message.role": "system", "llm.input_messages.0.message.content": "be brief",
         "llm.input_messages.1.message.role": "user",
         "llm.input_messages.1.message.contents.0.message_content.type": "text",
         "llm.input_messages.1.message.contents.0.message_content.text": "hello",
         "llm.output_messages.0.message.role": "assistant",
         "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup",
         "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"id": 7}'},
        [["system", "be brief"], ["user", "hello"]],
        [["assistant", "call:lookup"]],
    ),
    "openllmetry": (
        {"gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "question",
         "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "answer"},
        [["user", "question"]],
        [["assistant", "answer"]],
    ),
    "openai-shape": (
        {"gen_ai.prompt": json.dumps([
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]},
            {"role": "tool", "tool_call_id": "t1", "content": '{"temp": 3}'}])},
        [["user", "weather?"], ["assistant", "call:weather"], ["tool", "result"]],
        None,
    ),
    "vercel": (
        {"ai.prompt": json.dumps({"system": "sys", "prompt": "do it"}),
         "ai.response.text": "done",
         "ai.response.toolCalls": json.dumps([{"toolCallId": "a", "toolName": "fetch", "input": {"u": 1}}])},
        [["system", "sys"], ["user", "do it"]],
        [["assistant", "done"], ["assistant", "call:fetch"]],
    ),
    "pydantic-ai": (
        {"pydantic_ai.all_messages": json.dumps([
            {"role": "user", "parts": [{"type": "text", "content": "q"}]},
            {"role": "assistant", "parts": [{"type": "text", "content": "a"}]}])},
        [["user", "q"], ["assistant", "a"]],
        None,
    ),
}  # fmt: skip

SUMMARISE = """
async ([attributes]) => {
  const { conversation } = await import("/static/messages.js");
  const flat = (list) => list && list.flatMap((m) => m.parts.map((p) =>
    [m.role, p.kind === "text" ? p.text : p.kind === "call" ? "call:" + p.name : p.kind]));
  const c = conversation({ attributes, input: null, output: null });
  return [flat(c.input), flat(c.output)];
}
"""


def test_chat_messages_are_read_in_every_convention(page: Page) -> None:
    p = page.goto("/dashboard")  # any page: the module is what is tested
    for name, (attributes, expected_input, expected_output) in CONVENTIONS.items():
        got_input, got_output = p.evaluate(SUMMARISE, [attributes])
        assert (got_input, got_output) == (expected_input, expected_output), name


def test_sessions_page_lists_sessions(page: Page, seeded: Seeded) -> None:
    p = page.goto("/sessions?user_id=alice")
    row = p.locator('tr.session[data-session-id="s-web"]')
    row.wait_for()
    assert "bug-triager" in row.inner_text()
    row.locator("a").click()
    p.wait_for_url("**/sessions/s-web")
    p.locator(".turn").first.wait_for()
