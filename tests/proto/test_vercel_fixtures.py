"""The Vercel AI SDK's real spans (tests/interop/fixtures, captured from ai 6 and ai 5) through the decoder.

The fixtures are what ``tests/interop/js/vercel_ai.mjs`` sent with each SDK line's mock models;
each root carries ``ai.telemetry.metadata.scenario``. This checks every span's canonical columns
without a server; tests/interop/test_vercel_ai.py runs the SDK itself against one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentlog.proto.rows import decode_request

FIXTURES = Path(__file__).resolve().parents[1] / "interop" / "fixtures"
NODE_TYPES = {
    "ai.generateText": "agent",
    "ai.streamText": "agent",
    "ai.generateObject": "agent",
    "ai.generateText.doGenerate": "llm",
    "ai.streamText.doStream": "llm",
    "ai.generateObject.doGenerate": "llm",
    "ai.embed": "chain",
    "ai.embedMany": "chain",
    "ai.embed.doEmbed": "embedding",
    "ai.embedMany.doEmbed": "embedding",
    "ai.toolCall": "tool",
}


def spans(version: str) -> list[dict[str, Any]]:
    body = (FIXTURES / f"vercel_ai_{version}.json").read_bytes()
    decoded = decode_request(body, "json", "default", 100_000)
    assert decoded.table is not None and decoded.rejected == 0
    return decoded.table.to_pylist()


def by_agent(rows: list[dict[str, Any]], agent: str, name: str) -> list[dict[str, Any]]:
    return [row for row in rows if row["agent_name"] == agent and row["name"] == name]


@pytest.mark.parametrize("version", ["v6", "v5"])
def test_every_span_has_its_node_type_and_the_developers_names(version: str) -> None:
    rows = spans(version)
    assert {row["name"] for row in rows} <= set(NODE_TYPES)
    for row in rows:
        assert row["node_type"] == NODE_TYPES[row["name"]], row["name"]
        assert row["agent_name"] in {"weather-agent", "weather-streamer", "recipe-extractor", "doc-embedder",
                                     "flaky-tool-agent", "broken-model-agent"}  # fmt: skip
        assert (row["user_id"], row["session_id"]) == ("user-fixture", f"session-fixture-{version}")


@pytest.mark.parametrize("version", ["v6", "v5"])
def test_roots_read_the_prompt_and_the_answer(version: str) -> None:
    rows = spans(version)
    (root,) = by_agent(rows, "weather-agent", "ai.generateText")
    assert (root["input"], root["output"]) == ("What is the weather in Paris?", "It is sunny in Paris, 21°C.")
    (stream,) = by_agent(rows, "weather-streamer", "ai.streamText")
    assert (stream["input"], stream["output"]) == ("Is it sunny in Berlin?", "Berlin is sunny today, 21°C.")
    (extract,) = by_agent(rows, "recipe-extractor", "ai.generateObject")
    assert extract["input"] == "Extract the recipe: pancakes need flour, milk and eggs."
    assert extract["output"] == '{"name":"Pancakes","ingredients":["flour","milk","eggs"]}'


@pytest.mark.parametrize("version", ["v6", "v5"])
def test_tool_calls_read_their_name_arguments_and_result(version: str) -> None:
    rows = spans(version)
    (tool,) = by_agent(rows, "weather-agent", "ai.toolCall")
    assert (tool["tool_name"], tool["input"]) == ("weather", '{"city":"Paris"}')
    assert tool["output"] == '{"city":"Paris","forecast":"sunny","celsius":21}'
    (failed,) = by_agent(rows, "flaky-tool-agent", "ai.toolCall")
    assert (failed["status_code"], failed["error_type"], failed["output"]) == (2, "Error", None)


@pytest.mark.parametrize("version", ["v6", "v5"])
def test_model_calls_carry_the_tokens_the_root_repeats(version: str) -> None:
    rows = spans(version)
    calls = by_agent(rows, "weather-streamer", "ai.streamText.doStream")
    (root,) = by_agent(rows, "weather-streamer", "ai.streamText")
    assert sum(call["input_tokens"] for call in calls) == root["input_tokens"] == 50
    assert sum(call["output_tokens"] for call in calls) == root["output_tokens"] == 17
    assert sum(call["cache_read_tokens"] for call in calls) == root["cache_read_tokens"] == 5
    assert all(call["model"] == "mock-model-2026-01-15" for call in calls)


def test_ai_6_reports_cache_writes_on_each_model_call() -> None:
    rows = spans("v6")
    calls = by_agent(rows, "weather-agent", "ai.generateText.doGenerate")
    assert sorted((c["cache_read_tokens"], c["cache_write_tokens"]) for c in calls) == [(4, 2), (6, 0)]
    (root,) = by_agent(rows, "weather-agent", "ai.generateText")
    assert (root["input_tokens"], root["cache_read_tokens"], root["cache_write_tokens"]) == (22, 10, 2)


@pytest.mark.parametrize("version", ["v6", "v5"])
def test_a_model_call_that_threw_fails_its_call_and_the_root(version: str) -> None:
    rows = spans(version)
    failed = by_agent(rows, "broken-model-agent", "ai.generateText.doGenerate")
    failed += by_agent(rows, "broken-model-agent", "ai.generateText")
    assert len(failed) == 2 and all(row["status_code"] == 2 and row["error_type"] == "Error" for row in failed)
