"""Cache writes end to end: sent over OTLP to the real server, priced at the cache-write price, stored,
and shown beside cache reads by history, logs, stats and metrics; repricing keeps them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from opentelemetry.trace import set_span_in_context

from agentlog.proto.pricing import price_usd
from tests.api.sdk_runs import SECOND, sdk_tracer
from tests.conftest import ServerHandle

MODEL, PROVIDER = "claude-haiku-4-5", "anthropic"
USAGE = {
    "gen_ai.usage.input_tokens": 1000,  # cache reads and writes included
    "gen_ai.usage.cache_read.input_tokens": 200,
    "gen_ai.usage.cache_creation.input_tokens": 300,
    "gen_ai.usage.output_tokens": 50,
}
# genai-prices, per million tokens: $1 input, $0.10 cache read, $1.25 cache write, $5 output.
COST = (500 * Decimal(1) + 200 * Decimal("0.1") + 300 * Decimal("1.25") + 50 * Decimal(5)) / 1_000_000
TOKENS = {"input": 1000, "output": 50, "cache_read": 200, "cache_write": 300, "reasoning": None, "total": 1050}
RUN_TOKENS = {**TOKENS, "reasoning": 0}  # a run's sums start at 0


def get(server: ServerHandle, path: str, **params: Any) -> Any:
    response = httpx.get(server.api_url + path, params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def send_cached_run(server: ServerHandle, start: int, *, remote: bool = False) -> str:
    """An agent run with one Claude call (``remote``: usage on the agent span alone, as a hosted agent's)."""
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "cacher", "user.id": "carol"}
    call = {"gen_ai.request.model": MODEL, "gen_ai.provider.name": PROVIDER, **USAGE}
    with sdk_tracer(server.grpc_endpoint) as tracer:
        root = tracer.start_span(
            "invoke_agent cacher", start_time=start, attributes={**agent, **(call if remote else {})}
        )
        if not remote:
            chat = tracer.start_span(
                f"chat {MODEL}",
                context=set_span_in_context(root),
                start_time=start + SECOND // 10,
                attributes={"gen_ai.operation.name": "chat", **call},
            )
            chat.end(end_time=start + SECOND)
        root.end(end_time=start + 2 * SECOND)
        return f"{root.get_span_context().trace_id:032x}"


def test_the_price_is_genai_prices_cache_write_price() -> None:
    now = int(datetime.now(tz=UTC).timestamp()) * SECOND
    assert price_usd(MODEL, PROVIDER, 1000, 200, 300, 50, now) == COST
    assert price_usd(MODEL, PROVIDER, 1_000_000, 0, 1_000_000, 0, now) == Decimal("1.25")


def test_cache_writes_are_priced_stored_and_shown_beside_cache_reads(server: ServerHandle) -> None:
    start = (int(datetime.now(tz=UTC).timestamp()) - 600) * SECOND
    run_id = send_cached_run(server, start)

    spans = "SELECT cache_read_tokens, cache_write_tokens, cost_usd, cost_source FROM stored_spans WHERE model = ?"
    assert server.query(spans, [MODEL]) == [(200, 300, COST, "computed")]
    runs = "SELECT cache_read_tokens, cache_write_tokens, cost_usd FROM runs WHERE run_id = ?"
    assert server.query(runs, [run_id]) == [(200, 300, COST)]

    (run,) = get(server, "/api/v1/agents/history")
    assert run["tokens"] == RUN_TOKENS
    assert (run["cost_usd"], run["cost_cents"], run["cost_source"]) == (float(COST), float(COST * 100), "computed")

    logs = get(server, "/api/v1/agents/logs", run_id=run_id)
    (node,) = logs["nodes"]
    assert node["tokens"] == TOKENS
    assert node["cost"] == {"usd": float(COST), "cents": float(COST * 100), "source": "computed"}
    assert logs["summary"]["tokens"] == logs["run"]["tokens"] == RUN_TOKENS

    stats = get(server, "/api/v1/agents/stats", user_id="carol", days=1)
    expected = {"input": 1000, "output": 50, "cache_read": 200, "cache_write": 300, "total": 1050}
    assert stats["tokens"] == expected
    assert [day["tokens"] for day in stats["per_day"]] == [expected]

    (agent,) = get(server, "/api/v1/agents/metrics", agent_id="cacher", days=1)["agents"]
    (model,) = agent["by_model"]
    llm = next(row for row in agent["by_node_type"] if row["name"] == "llm")
    for row in (model, llm):
        assert (row["input_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]) == (1000, 200, 300)
    assert model["cost_usd"] == pytest.approx(float(COST))


def test_a_remote_agents_own_cache_writes_count_when_no_call_reports_usage(server: ServerHandle) -> None:
    """The agent span's usage is a fallback (migration 0008): cache writes follow the same rule."""
    start = (int(datetime.now(tz=UTC).timestamp()) - 600) * SECOND
    send_cached_run(server, start, remote=True)
    (run,) = get(server, "/api/v1/agents/history")
    assert run["tokens"] == RUN_TOKENS
    assert run["cost_usd"] == float(COST)
    assert get(server, "/api/v1/agents/stats", days=1)["tokens"]["cache_write"] == 300


def test_reprice_prices_the_stored_cache_writes(server: ServerHandle) -> None:
    start = (int(datetime.now(tz=UTC).timestamp()) - 600) * SECOND
    run_id = send_cached_run(server, start)
    server.query("UPDATE stored_spans SET cost_usd = 1 WHERE cost_source = 'computed'")  # as if mispriced
    response = httpx.post(
        server.api_url + "/api/v1/executions/reprice", json={"since": "2000-01-01T00:00:00Z"}, timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"spans_checked": 1, "spans_changed": 1, "runs_updated": 1}
    assert server.query("SELECT cost_usd FROM stored_spans WHERE model = ?", [MODEL]) == [(COST,)]
    assert server.query("SELECT cost_usd FROM runs WHERE run_id = ?", [run_id]) == [(COST,)]
    assert get(server, "/api/v1/agents/logs", run_id=run_id)["nodes"][0]["tokens"]["cache_write"] == 300


def test_openapi_documents_cache_writes_beside_cache_reads(server: ServerHandle) -> None:
    paths = get(server, "/openapi.json")["paths"]

    def schema(path: str) -> dict[str, Any]:
        found: dict[str, Any] = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        return found

    run = schema("/api/v1/agents/history")["items"]
    logs = schema("/api/v1/agents/logs")["properties"]
    stats = schema("/api/v1/agents/stats")["properties"]
    facet = schema("/api/v1/agents/metrics")["properties"]["agents"]["items"]["properties"]["by_model"]["items"]
    for tokens in (
        run["properties"]["tokens"],
        logs["nodes"]["items"]["properties"]["tokens"],
        logs["summary"]["properties"]["tokens"],
        logs["run"]["properties"]["tokens"],
        stats["tokens"],
        stats["per_day"]["items"]["properties"]["tokens"],
    ):
        assert {"cache_read", "cache_write"} <= tokens["properties"].keys()
    assert {"cache_read_tokens", "cache_write_tokens"} <= facet["properties"].keys()
