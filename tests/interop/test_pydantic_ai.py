"""pydantic-ai itself as a sender: a real agent run, instrumented with plain OpenTelemetry, into the history.

pydantic-ai's ``TestModel`` answers without any provider or network; its
instrumentation takes an SDK ``TracerProvider`` (no logfire), whose OTLP/gRPC
exporter sends to a test server. pydantic-ai keeps the user's prompt only in
``pydantic_ai.all_messages`` on its agent run span: the history must show it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from pydantic_ai import Agent
from pydantic_ai.models.instrumented import InstrumentationSettings
from pydantic_ai.models.test import TestModel

from tests.conftest import ServerHandle

PROMPT = "Why does the login page return 500?"


@pytest.fixture
def instrumented(server: ServerHandle) -> Iterator[InstrumentationSettings]:
    provider = TracerProvider(resource=Resource.create({"service.name": "pydantic-ai-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=server.grpc_endpoint, insecure=True)))
    try:
        yield InstrumentationSettings(tracer_provider=provider)
    finally:
        provider.shutdown()


def history(server: ServerHandle) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.api_url}/api/v1/agents/history", timeout=10)
    assert response.status_code == 200, response.text
    runs: list[dict[str, Any]] = response.json()
    return runs


def test_a_pydantic_ai_run_shows_its_prompt_and_final_output(
    server: ServerHandle, instrumented: InstrumentationSettings
) -> None:
    agent = Agent(TestModel(), name="triager")
    agent.instrument = instrumented

    @agent.tool_plain
    def search_issues(query: str) -> str:
        return "#1199 session cookie lost"

    # asyncio.run, not run_sync: run_sync leaves an event loop open in the thread, for good.
    first = asyncio.run(agent.run(PROMPT))
    second = asyncio.run(agent.run("And the 502s?", message_history=first.all_messages()))  # the same conversation
    older, newer = sorted(history(server), key=lambda run: run["started_at"])
    assert (older["agent_id"], older["status"], older["input"], older["output"]) == (
        "triager",
        "success",
        PROMPT,
        first.output,
    )
    assert (newer["input"], newer["output"]) == ("And the 502s?", second.output)  # its own prompt
    assert older["node_count"] == 3  # chat, execute_tool search_issues, chat
    assert older["tokens_used"] == first.usage.total_tokens  # the chat spans', not the run span's sum again
