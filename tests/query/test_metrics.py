"""agent_metrics on a real DuckDB file: day partials add up to the exact figures, and follow every change."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from agentlog.query import MetricsQuery, agent_metrics, metric_days
from agentlog.query.metric_days import DAY_NS, MetricDays
from agentlog.query.metrics import warm_up
from agentlog.query.rows import fetch_dicts
from agentlog.query.scope import LOCAL, Scope
from agentlog.store import Database, commit_spans, compact_runs
from agentlog.store.retention import delete_expired_now
from tests.factories import make_request, make_span, span_rows

SECOND = 10**9
NOW = 1_790_000_000 * SECOND + 12 * 3600 * SECOND  # noon: the window's first day is cut at noon
AGENTS = ["triager", "writer", "reviewer"]
TOOLS = ["search", "fetch"]

# The exact figures, straight from the spans (what metrics computed before day partials).
EXACT_RUNS = """
SELECT agent, count(*) AS runs, count(*) FILTER (status = 'failed') AS failed_runs,
       quantile_cont((ended_ns - started_ns) / 1e6, [0.5, 0.95, 0.99]) AS quantiles,
       sum(total_tokens) AS total_tokens, sum(cost_usd) AS cost_usd
FROM run_summaries WHERE started_ns >= $since::UBIGINT AND ($user IS NULL OR user_id = $user) GROUP BY agent
"""
EXACT_TOOLS = """
SELECT r.agent, s.tool_name AS name, count(*) AS calls, count(*) FILTER (s.status_code = 2) AS errors,
       quantile_cont((s.end_time_unix_nano - s.start_time_unix_nano) / 1e6, 0.95) AS p95
FROM stored_spans s JOIN run_summaries r USING (tenant_id, trace_id)
WHERE r.started_ns >= $since::UBIGINT AND ($user IS NULL OR r.user_id = $user) AND s.node_type = 'tool'
GROUP BY ALL
"""


class Store:
    """A database and the commits made to it."""

    def __init__(self, path: Path) -> None:
        self.database = Database.open(path)
        self.seq = 0

    def commit(self, spans: list[Any]) -> None:
        self.seq += 1
        batch = span_rows(make_request(spans), LOCAL.tenant_id)
        commit_spans(self.database.cursor(), [batch], self.seq)

    def metrics(self, days: MetricDays | None, scope: Scope = LOCAL, **query: Any) -> dict[str, Any]:
        return agent_metrics(self.database.cursor(), scope, MetricsQuery(**query), NOW, days)


def run_spans(rng: random.Random, start: int, agent: str | None, user: str) -> list[Any]:
    """A root (with ``agent``'s name, unless None) and 1-6 steps: LLM calls and tool calls, some failing."""
    root_attributes = {"enduser.id": user, **({"gen_ai.agent.name": agent} if agent else {})}
    steps, at = [], start
    for _ in range(rng.randint(1, 6)):
        duration = rng.randint(1, 4000) * 1_000_000
        if rng.random() < 0.5:
            attributes: dict[str, Any] = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                                          "gen_ai.usage.input_tokens": rng.randint(1, 500),
                                          "gen_ai.usage.output_tokens": rng.randint(1, 100)}  # fmt: skip
            status = 0
        else:
            attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": rng.choice(TOOLS)}
            status = 2 if rng.random() < 0.2 else 0
        steps.append((at, duration, attributes, status))
        at += duration
    root = make_span(name="invoke_agent", start=start, duration=at - start + SECOND, attributes=root_attributes,
                     status_code=2 if rng.random() < 0.1 else 1)  # fmt: skip
    return [root] + [
        make_span(
            trace_id=root.trace_id,
            parent_span_id=root.span_id,
            name="step",
            start=begin,
            duration=duration,
            attributes=attributes,
            status_code=status,
        )
        for begin, duration, attributes, status in steps
    ]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """300 runs over 35 days before NOW (some outside the 30-day window), three agents, two users."""
    store = Store(tmp_path / "metrics.duckdb")
    rng = random.Random(7)
    spans: list[Any] = []
    for _ in range(300):
        start = NOW - rng.randint(0, 35 * 86_400) * SECOND
        spans += run_spans(rng, start, rng.choice(AGENTS), rng.choice(["alice", "bob"]))
        if len(spans) > 200:
            store.commit(spans)
            spans = []
    store.commit(spans)
    return store


def assert_exact(store: Store, result: dict[str, Any], user: str | None = None) -> None:
    """Counts and sums as the spans give them; every quantile within 2 % of quantile_cont's."""
    params = {"since": NOW - 30 * DAY_NS, "user": user}
    cursor = store.database.cursor()
    exact = {row["agent"]: row for row in fetch_dicts(cursor, EXACT_RUNS, params)}
    tools = {(row["agent"], row["name"]): row for row in fetch_dicts(cursor, EXACT_TOOLS, params)}
    assert {agent["agent_id"] for agent in result["agents"]} == set(exact)
    for agent in result["agents"]:
        want = exact[agent["agent_id"]]
        assert (agent["runs"], agent["failed_runs"]) == (want["runs"], want["failed_runs"])
        cost = None if want["cost_usd"] is None else float(want["cost_usd"])  # None: no run's cost is known
        assert (agent["total_tokens"], agent["cost_usd"]) == (int(want["total_tokens"]), cost)
        got = [agent["duration_ms"][q] for q in ("p50", "p95", "p99")]
        assert got == (pytest.approx(want["quantiles"], rel=0.02) if want["quantiles"] else [None] * 3)
        assert {tool["name"] for tool in agent["tools"]} == {name for a, name in tools if a == agent["agent_id"]}
        for tool in agent["tools"]:
            want_tool = tools[(agent["agent_id"], tool["name"])]
            assert (tool["calls"], tool["errors"]) == (want_tool["calls"], want_tool["errors"])
            assert tool["p95_duration_ms"] == pytest.approx(want_tool["p95"], rel=0.02)


def test_day_partials_add_up_to_the_exact_figures(store: Store) -> None:
    days = MetricDays()
    for _ in range(2):  # computed, then from the kept days
        assert_exact(store, store.metrics(days))
    assert len(days) > 0
    assert store.metrics(days) == store.metrics(None)  # the same with nothing kept


def test_one_agent_and_one_user(store: Store) -> None:
    days = MetricDays()
    store.metrics(days)
    (writer,) = store.metrics(days, agent_id="writer")["agents"]
    assert writer == next(a for a in store.metrics(None)["agents"] if a["agent_id"] == "writer")
    # A key scoped to one user reads that user's runs only, even from a database read unscoped before.
    assert_exact(store, store.metrics(days, Scope(LOCAL.tenant_id, "alice")), user="alice")


# Runs committed since the cut are summed at each request until there are more than MAX_FRESH_RUNS;
# with 0 the cut moves up at every request that finds one, and the day is computed again.
@pytest.mark.parametrize("max_fresh_runs", [metric_days.MAX_FRESH_RUNS, 0])
def test_a_kept_day_follows_spans_that_arrive_later(
    store: Store, max_fresh_runs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metric_days, "MAX_FRESH_RUNS", max_fresh_runs)
    days = MetricDays()
    before = store.metrics(days)
    # An old run's steps arrive first: its agent is not known yet ...
    rng = random.Random(3)
    root, *steps = run_spans(rng, NOW - 20 * DAY_NS, "latecomer", "alice")
    store.commit(steps)
    assert_exact(store, store.metrics(days))
    # ... then its root names it: the steps move to that agent.
    store.commit([root])
    after = store.metrics(days)
    assert_exact(store, after)
    assert "latecomer" in {agent["agent_id"] for agent in after["agents"]}
    assert sum(agent["runs"] for agent in after["agents"]) == sum(agent["runs"] for agent in before["agents"]) + 1


def test_a_kept_day_follows_deletions(store: Store) -> None:
    days = MetricDays()
    store.metrics(days)
    delete_expired_now(store.database.cursor(), LOCAL.tenant_id, NOW - 10 * DAY_NS)
    assert_exact(store, store.metrics(days))


def test_a_kept_day_follows_repricing(store: Store) -> None:
    days = MetricDays()
    cursor = store.database.cursor()
    store.metrics(days)
    # What a price change does to stored figures (repricing.py writes spans and, once it has
    # compacted them, roll-ups alike).
    cursor.execute("UPDATE stored_spans SET cost_usd = cost_usd + 1 WHERE model IS NOT NULL")
    compact_runs(cursor)
    cursor.execute("""
        UPDATE run_compacted SET cost_usd = r.cost_usd + s.added
        FROM (SELECT trace_id, count(*) AS added FROM stored_spans WHERE model IS NOT NULL GROUP BY trace_id) s,
             run_compacted r
        WHERE run_compacted.trace_id = s.trace_id AND r.trace_id = s.trace_id
    """)  # fmt: skip
    assert_exact(store, store.metrics(days))


def test_kept_days_stay_within_their_budget(store: Store) -> None:
    whole = MetricDays()
    store.metrics(whole)
    small = MetricDays(budget_bytes=whole.nbytes // 4)
    for _ in range(2):
        assert store.metrics(small) == store.metrics(whole)
        assert 0 < small.nbytes <= whole.nbytes // 4


def test_an_empty_window(tmp_path: Path) -> None:
    store = Store(tmp_path / "empty.duckdb")
    assert store.metrics(MetricDays())["agents"] == []
    assert store.metrics(None)["agents"] == []


def test_a_warm_up_leaves_nothing_for_the_first_request_to_compute(store: Store) -> None:
    other = Scope("acme")
    batch = span_rows(make_request(run_spans(random.Random(3), NOW - SECOND, "pager", "carol")), "acme")
    store.seq += 1
    commit_spans(store.database.cursor(), [batch], store.seq)
    days = MetricDays()

    assert warm_up(store.database.cursor(), NOW, days) == [LOCAL.tenant_id, "acme"]  # busiest first
    kept = len(days)
    assert kept > 0
    computed: list[Any] = []
    original = MetricDays._put

    def counting(self: MetricDays, key: Any, *args: Any) -> None:  # only a computed partial is put
        computed.append(key)
        original(self, key, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MetricDays, "_put", counting)
        warm = store.metrics(days)
        assert [agent["agent_id"] for agent in store.metrics(days, scope=other)["agents"]] == ["pager"]
    assert computed == []
    assert warm == store.metrics(None)  # the figures of a one-pass read
    assert len(days) == kept
    assert warm_up(store.database.cursor(), NOW, MetricDays(), max_tenants=1) == [LOCAL.tenant_id]
