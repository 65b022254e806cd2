"""normalize() against span attributes shaped exactly as each real instrumentation emits them.

Every fixture names the source its shape was taken from. Attribute values are given as
``anyvalue.attributes_to_python`` hands them to ``normalize``: OTLP strings, ints, doubles and
bools as themselves, arrays as lists, kvlists as dicts.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from agentlog.proto.anyvalue import TRUNCATION_MARK
from agentlog.proto.normalize import Canonical, normalize, pending_target

STATUS_UNSET, STATUS_OK, STATUS_ERROR = 0, 1, 2
START_DAY = datetime(2025, 6, 1, tzinfo=UTC)
START = int(START_DAY.timestamp()) * 10**9
MAX_LENGTH = 100_000
PICO_USD = Decimal("1e-12")


def run(
    name: str,
    attributes: dict[str, Any],
    *,
    status_code: int = STATUS_UNSET,
    status_message: str = "",
    exception: dict[str, Any] | None = None,
    max_length: int = MAX_LENGTH,
) -> Canonical:
    return normalize(name, attributes, status_code, status_message, exception, START, max_length)


def priced(
    model: str, provider_id: str | None, input_tokens: int, cache_read: int, output_tokens: int, cache_write: int = 0
) -> Decimal:
    """What genai-prices charges for this usage on the span's day, to the pico-dollar."""
    usage = Usage(
        input_tokens=input_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        output_tokens=output_tokens,
    )
    result = calc_price(usage, model, provider_id=provider_id, genai_request_timestamp=START_DAY)
    return result.total_price.quantize(PICO_USD)


def json_text(value: Any) -> str:
    """Compact JSON, the text a structured attribute value is stored as."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# Where input/output came from (a storage detail) is checked by test_text_keys alone.
PROVENANCE = ("input_key", "output_key")


def columns(canonical: Canonical, *only: str) -> dict[str, Any]:
    row = canonical._asdict()
    return {key: row[key] for key in only} if only else {k: v for k, v in row.items() if k not in PROVENANCE}


def test_text_keys_name_the_attribute_only_when_the_text_is_its_value() -> None:
    verbatim = run("chat", {"gen_ai.input.messages": "[1]", "input.value": "ignored", "output.value": "done"})
    assert columns(verbatim, "input", "input_key", "output", "output_key") == {
        "input": "[1]",
        "input_key": "gen_ai.input.messages",
        "output": "done",
        "output_key": "output.value",
    }
    structured = run("chat", {"gen_ai.input.messages": ["a", "b"], "gen_ai.prompt.0.content": "hi"})
    assert columns(structured, "input", "input_key") == {"input": json_text(["a", "b"]), "input_key": None}
    flattened = run("chat", {"gen_ai.completion.0.content": "hi"})
    assert columns(flattened, "output", "output_key") == {"output": json_text([{"content": "hi"}]), "output_key": None}


NO_ERROR = {"error_type": None, "error_message": None}


# --------------------------------------------------------------------------------------------
# OpenTelemetry GenAI semantic conventions (current)
# --------------------------------------------------------------------------------------------

# Spec examples for the structured message attributes:
# open-telemetry/semantic-conventions-genai docs/registry/attributes/gen-ai.md (gen_ai.input.messages,
# gen_ai.output.messages, gen_ai.tool.call.arguments / result).
GENAI_INPUT_MESSAGES = [
    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
    {
        "role": "assistant",
        "parts": [
            {
                "type": "tool_call",
                "id": "call_VSPygqKTWdrhaFErNvMV18Yl",
                "name": "get_weather",
                "arguments": {"location": "Paris"},
            }
        ],
    },
    {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "id": "call_VSPygqKTWdrhaFErNvMV18Yl", "result": "rainy, 57°F"}],
    },
]
GENAI_OUTPUT_MESSAGES = [
    {
        "role": "assistant",
        "parts": [{"type": "text", "content": "The weather in Paris is currently rainy with a temperature of 57°F."}],
        "finish_reason": "stop",
    }
]

# Inference ("chat") client span: open-telemetry/semantic-conventions-genai docs/gen-ai/gen-ai-spans.md
# and docs/registry/attributes/gen-ai.md; messages in structured form, as the spec prefers on spans.
GENAI_CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.request.temperature": 0.0,
    "gen_ai.request.max_tokens": 1024,
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.response.id": "chatcmpl-123",
    "gen_ai.response.finish_reasons": ["stop"],
    "gen_ai.conversation.id": "conv_5j66UpCpwteGg4YSxUnt7lPY",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.cache_read.input_tokens": 1000,
    "gen_ai.usage.cache_creation.input_tokens": 0,
    "gen_ai.usage.reasoning.output_tokens": 50,
    "gen_ai.input.messages": GENAI_INPUT_MESSAGES,
    "gen_ai.output.messages": GENAI_OUTPUT_MESSAGES,
    "server.address": "api.openai.com",
    "server.port": 443,
}


def test_genai_chat_span() -> None:
    assert columns(run("chat gpt-4o", GENAI_CHAT)) == {
        "node_type": "llm",
        "agent_name": None,
        "agent_id": None,
        "model": "gpt-4o-2024-08-06",
        "provider": "openai",
        "input_tokens": 1200,
        "output_tokens": 300,
        "cache_read_tokens": 1000,
        "cache_write_tokens": 0,
        "reasoning_tokens": 50,
        "total_tokens": 1500,
        "usage_aggregated": False,
        "cost_usd": priced("gpt-4o-2024-08-06", "openai", 1200, 1000, 300),
        "cost_source": "computed",
        "input": json_text(GENAI_INPUT_MESSAGES),
        "output": json_text(GENAI_OUTPUT_MESSAGES),
        "user_id": None,
        "session_id": "conv_5j66UpCpwteGg4YSxUnt7lPY",
        "tool_name": None,
        **NO_ERROR,
    }


def test_genai_computed_cost_is_a_positive_decimal_to_the_pico_dollar() -> None:
    cost = run("chat gpt-4o", GENAI_CHAT).cost_usd
    assert isinstance(cost, Decimal)
    assert cost > 0
    assert cost == cost.quantize(PICO_USD)


def test_genai_messages_recorded_as_json_strings_are_kept_verbatim() -> None:
    # The spec lets spans carry the messages as a JSON string when structured values are not
    # supported (gen-ai.md, gen_ai.input.messages note); the text is stored as sent.
    text_in = json.dumps(GENAI_INPUT_MESSAGES, indent=2)
    text_out = json.dumps(GENAI_OUTPUT_MESSAGES)
    canonical = run("chat gpt-4o", {**GENAI_CHAT, "gen_ai.input.messages": text_in, "gen_ai.output.messages": text_out})
    assert (canonical.input, canonical.output) == (text_in, text_out)


def test_genai_structured_messages_longer_than_the_limit_are_cut_with_a_mark() -> None:
    full = json_text(GENAI_INPUT_MESSAGES)
    canonical = run("chat gpt-4o", GENAI_CHAT, max_length=40)
    assert canonical.input == full[:40] + TRUNCATION_MARK.format(cut=len(full) - 40, total=len(full))


def test_genai_provider_known_to_genai_prices_under_another_name_is_priced() -> None:
    # gen_ai.provider.name well-known value "gcp.gemini" (gen-ai-spans.md); genai-prices calls it "google".
    attributes = {
        "gen_ai.operation.name": "generate_content",
        "gen_ai.provider.name": "gcp.gemini",
        "gen_ai.request.model": "gemini-2.0-flash",
        "gen_ai.usage.input_tokens": 900,
        "gen_ai.usage.output_tokens": 100,
    }
    canonical = run("generate_content gemini-2.0-flash", attributes)
    assert columns(canonical, "node_type", "provider", "cost_usd", "cost_source") == {
        "node_type": "llm",
        "provider": "gcp.gemini",
        "cost_usd": priced("gemini-2.0-flash", "google", 900, 0, 100),
        "cost_source": "computed",
    }


# Invoke agent client span: open-telemetry/semantic-conventions-genai docs/gen-ai/gen-ai-agent-spans.md
# ("Invoke agent client span": agent name/id, conversation id, model and usage on the agent span).
GENAI_INVOKE_AGENT = {
    "gen_ai.operation.name": "invoke_agent",
    "gen_ai.provider.name": "openai",
    "gen_ai.agent.name": "Math Tutor",
    "gen_ai.agent.id": "asst_5j66UpCpwteGg4YSxUnt7lPY",
    "gen_ai.agent.description": "Helps with math problems",
    "gen_ai.conversation.id": "conv_5j66UpCpwteGg4YSxUnt7lPY",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.usage.input_tokens": 420,
    "gen_ai.usage.output_tokens": 80,
    "server.address": "api.openai.com",
}


def test_genai_invoke_agent_span() -> None:
    assert columns(run("invoke_agent Math Tutor", GENAI_INVOKE_AGENT)) == {
        "node_type": "agent",
        "agent_name": "Math Tutor",
        "agent_id": "asst_5j66UpCpwteGg4YSxUnt7lPY",
        "model": "gpt-4o",
        "provider": "openai",
        "input_tokens": 420,
        "output_tokens": 80,
        "cache_read_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "total_tokens": 500,
        "usage_aggregated": False,
        "cost_usd": priced("gpt-4o", "openai", 420, 0, 80),
        "cost_source": "computed",
        "input": None,
        "output": None,
        "user_id": None,
        "session_id": "conv_5j66UpCpwteGg4YSxUnt7lPY",
        "tool_name": None,
        **NO_ERROR,
    }


# Execute tool span: open-telemetry/semantic-conventions-genai docs/gen-ai/gen-ai-spans.md
# ("Execute tool span"); arguments/result in structured form, examples from the registry.
GENAI_EXECUTE_TOOL = {
    "gen_ai.operation.name": "execute_tool",
    "gen_ai.tool.name": "get_weather",
    "gen_ai.tool.type": "function",
    "gen_ai.tool.call.id": "call_mszuSIzqtI65i1wAUOE8w5H4",
    "gen_ai.tool.description": "Get the current weather in a given location",
    "gen_ai.tool.call.arguments": {"location": "San Francisco?", "date": "2025-10-01"},
    "gen_ai.tool.call.result": {"temperature_range": {"high": 75, "low": 60}, "conditions": "sunny"},
}


def test_genai_execute_tool_span() -> None:
    assert columns(run("execute_tool get_weather", GENAI_EXECUTE_TOOL)) == {
        "node_type": "tool",
        "agent_name": None,
        "agent_id": None,
        "model": None,
        "provider": None,
        "input_tokens": None,
        "output_tokens": None,
        "cache_read_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "total_tokens": None,
        "usage_aggregated": False,
        "cost_usd": None,
        "cost_source": None,
        "input": '{"location":"San Francisco?","date":"2025-10-01"}',
        "output": '{"temperature_range":{"high":75,"low":60},"conditions":"sunny"}',
        "user_id": None,
        "session_id": None,
        "tool_name": "get_weather",
        **NO_ERROR,
    }


# Embeddings span: open-telemetry/semantic-conventions-genai docs/gen-ai/gen-ai-spans.md ("Embeddings"):
# input tokens only.
GENAI_EMBEDDINGS = {
    "gen_ai.operation.name": "embeddings",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "text-embedding-3-small",
    "gen_ai.embeddings.dimension.count": 1536,
    "gen_ai.request.encoding_formats": ["float"],
    "gen_ai.usage.input_tokens": 8,
}


def test_genai_embeddings_span() -> None:
    canonical = run("embeddings text-embedding-3-small", GENAI_EMBEDDINGS)
    assert columns(canonical, "node_type", "model", "input_tokens", "output_tokens", "total_tokens") == {
        "node_type": "embedding",
        "model": "text-embedding-3-small",
        "input_tokens": 8,
        "output_tokens": None,
        "total_tokens": 8,
    }
    assert (canonical.cost_usd, canonical.cost_source) == (
        priced("text-embedding-3-small", "openai", 8, 0, 0),
        "computed",
    )


@pytest.mark.parametrize(
    ("operation", "node_type"),
    [
        ("chat", "llm"),
        ("text_completion", "llm"),
        ("generate_content", "llm"),
        ("embeddings", "embedding"),
        ("retrieval", "retriever"),
        ("execute_tool", "tool"),
        ("invoke_agent", "agent"),
        ("create_agent", "agent"),
        ("invoke_workflow", "chain"),
    ],
)
def test_genai_operation_names(operation: str, node_type: str) -> None:
    # gen_ai.operation.name well-known values: semantic-conventions-genai docs/gen-ai/gen-ai-agent-spans.md.
    assert run(operation, {"gen_ai.operation.name": operation}).node_type == node_type


# Errors: gen-ai-spans.md ("error.type ... if the operation ended in an error", status per
# recording-errors.md). The shape is that of opentelemetry-instrumentation-openai-v2 on a 429.
def test_genai_error_type_and_status_description() -> None:
    attributes = {**GENAI_CHAT, "error.type": "RateLimitError"}
    canonical = run("chat gpt-4o", attributes, status_code=STATUS_ERROR, status_message="Error code: 429")
    assert columns(canonical, "error_type", "error_message") == {
        "error_type": "RateLimitError",
        "error_message": "Error code: 429",
    }


def test_genai_error_type_alone_is_the_message_too() -> None:
    attributes = {"gen_ai.operation.name": "chat", "error.type": "timeout"}
    canonical = run("chat gpt-4o", attributes, status_code=STATUS_ERROR)
    assert columns(canonical, "error_type", "error_message") == {"error_type": "timeout", "error_message": "timeout"}


def test_error_type_on_a_span_that_did_not_fail_is_no_error() -> None:
    attributes = {"gen_ai.operation.name": "chat", "error.type": "timeout"}
    for status in (STATUS_UNSET, STATUS_OK):
        assert columns(run("chat gpt-4o", attributes, status_code=status), *NO_ERROR) == NO_ERROR


# Exception event as the OpenTelemetry Python SDK's Span.record_exception writes it (exception.type /
# .message / .stacktrace / .escaped as a string; opentelemetry-sdk opentelemetry/sdk/trace/__init__.py),
# for an instrumentation that then calls set_status(StatusCode.ERROR) without a description.
SDK_EXCEPTION_EVENT = {
    "exception.type": "ValueError",
    "exception.message": "city must not be empty",
    "exception.stacktrace": 'Traceback (most recent call last):\n  File "tools.py", line 3\nValueError',
    "exception.escaped": "False",
}


def test_error_from_the_exception_event_when_the_status_has_no_description() -> None:
    canonical = run(
        "execute_tool get_weather", GENAI_EXECUTE_TOOL, status_code=STATUS_ERROR, exception=SDK_EXCEPTION_EVENT
    )
    assert columns(canonical, "error_type", "error_message") == {
        "error_type": "ValueError",
        "error_message": "city must not be empty",
    }


def test_error_type_attribute_wins_over_the_exception_event_and_status_over_its_message() -> None:
    attributes = {**GENAI_EXECUTE_TOOL, "error.type": "tool_error"}
    canonical = run(
        "execute_tool get_weather",
        attributes,
        status_code=STATUS_ERROR,
        status_message="ValueError: city must not be empty",
        exception=SDK_EXCEPTION_EVENT,
    )
    assert columns(canonical, "error_type", "error_message") == {
        "error_type": "tool_error",
        "error_message": "ValueError: city must not be empty",
    }


# --------------------------------------------------------------------------------------------
# OpenTelemetry GenAI semantic conventions (deprecated names)
# --------------------------------------------------------------------------------------------

# Semconv <= 1.26 span, deprecated keys as listed under "Deprecated GenAI Attributes" in
# open-telemetry/semantic-conventions docs/registry/attributes/gen-ai.md (gen_ai.system,
# gen_ai.usage.prompt_tokens / completion_tokens, gen_ai.prompt / gen_ai.completion with the
# registry's example values); no gen_ai.operation.name yet, so the type comes from the shape.
GENAI_DEPRECATED = {
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.usage.prompt_tokens": 42,
    "gen_ai.usage.completion_tokens": 7,
    "gen_ai.prompt": "[{'role': 'user', 'content': 'What is the capital of France?'}]",
    "gen_ai.completion": "[{'role': 'assistant', 'content': 'The capital of France is Paris.'}]",
}


def test_genai_deprecated_keys() -> None:
    canonical = run("chat gpt-4o-mini", GENAI_DEPRECATED)
    assert columns(canonical) == {
        "node_type": "llm",
        "agent_name": None,
        "agent_id": None,
        "model": "gpt-4o-mini-2024-07-18",
        "provider": "openai",
        "input_tokens": 42,
        "output_tokens": 7,
        "cache_read_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "total_tokens": 49,
        "usage_aggregated": False,
        "cost_usd": priced("gpt-4o-mini-2024-07-18", "openai", 42, 0, 7),
        "cost_source": "computed",
        "input": "[{'role': 'user', 'content': 'What is the capital of France?'}]",
        "output": "[{'role': 'assistant', 'content': 'The capital of France is Paris.'}]",
        "user_id": None,
        "session_id": None,
        "tool_name": None,
        **NO_ERROR,
    }


# OpenLIT chat span: openlit/openlit sdk/python/src/openlit/semcov/__init__.py (GEN_AI_USAGE_COST =
# "gen_ai.usage.cost", a float of USD; total tokens under gen_ai.usage.total_tokens).
OPENLIT_CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.usage.input_tokens": 1200,
    "gen_ai.usage.output_tokens": 300,
    "gen_ai.usage.total_tokens": 1500,
    "gen_ai.usage.cost": 0.0061,
}


def test_reported_cost_wins_over_computed() -> None:
    canonical = run("chat gpt-4o", OPENLIT_CHAT)
    assert (canonical.cost_usd, canonical.cost_source) == (Decimal("0.0061"), "reported")
    assert canonical.cost_usd != priced("gpt-4o-2024-08-06", "openai", 1200, 0, 300)


# --------------------------------------------------------------------------------------------
# OpenInference
# --------------------------------------------------------------------------------------------

# LangChain chat model span: Arize-ai/openinference python/instrumentation/
# openinference-instrumentation-langchain/src/openinference/instrumentation/langchain/_tracer.py
# (_update_span: span kind, input/output value + mime type, llm.provider / llm.system from
# ls_provider, llm.model_name from llm_output, _token_counts from LangChain UsageMetadata,
# "metadata" JSON string) with session.id / user.id from using_attributes (get_attributes_from_context).
OI_LANGCHAIN_LLM = {
    "openinference.span.kind": "LLM",
    "input.value": (
        '{"messages": [[{"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", '
        '"HumanMessage"], "kwargs": {"content": "What is 2 * 3?", "type": "human"}}]]}'
    ),
    "input.mime_type": "application/json",
    "output.value": '{"generations": [[{"text": "6", "type": "ChatGeneration"}]], "llm_output": null}',
    "output.mime_type": "application/json",
    "llm.input_messages.0.message.role": "user",
    "llm.input_messages.0.message.content": "What is 2 * 3?",
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.content": "6",
    "llm.invocation_parameters": '{"model": "o3-mini", "stream": false, "_type": "openai-chat"}',
    "llm.provider": "openai",
    "llm.system": "openai",
    "llm.model_name": "o3-mini-2025-01-31",
    "llm.token_count.prompt": 1200,
    "llm.token_count.completion": 300,
    "llm.token_count.total": 1500,
    "llm.token_count.prompt_details.cache_read": 1000,
    "llm.token_count.completion_details.reasoning": 256,
    "metadata": '{"ls_provider": "openai", "ls_model_name": "o3-mini", "ls_model_type": "chat"}',
    "session.id": "session-42",
    "user.id": "user-7",
}


def test_openinference_langchain_llm_span() -> None:
    assert columns(run("ChatOpenAI", OI_LANGCHAIN_LLM)) == {
        "node_type": "llm",
        "agent_name": None,
        "agent_id": None,
        "model": "o3-mini-2025-01-31",
        "provider": "openai",
        "input_tokens": 1200,
        "output_tokens": 300,
        "cache_read_tokens": 1000,
        "cache_write_tokens": None,
        "reasoning_tokens": 256,
        "total_tokens": 1500,
        "usage_aggregated": False,
        "cost_usd": priced("o3-mini-2025-01-31", "openai", 1200, 1000, 300),
        "cost_source": "computed",
        "input": OI_LANGCHAIN_LLM["input.value"],
        "output": OI_LANGCHAIN_LLM["output.value"],
        "user_id": "user-7",
        "session_id": "session-42",
        "tool_name": None,
        **NO_ERROR,
    }


# LlamaIndex LLM span: Arize-ai/openinference python/instrumentation/
# openinference-instrumentation-llama-index/src/openinference/instrumentation/llama_index/_handler.py
# (llm.model_name and llm.token_count.*; no llm.provider on the span).
OI_LLAMA_INDEX_LLM = {
    "openinference.span.kind": "LLM",
    "input.value": '{"messages": ["user: What did the author do growing up?"]}',
    "input.mime_type": "application/json",
    "output.value": "assistant: He wrote short stories and programmed on an IBM 1401.",
    "llm.model_name": "gpt-4o",
    "llm.invocation_parameters": '{"temperature": 0.1, "model": "gpt-4o"}',
    "llm.token_count.prompt": 512,
    "llm.token_count.completion": 64,
    "llm.token_count.total": 576,
}


def test_openinference_llama_index_llm_span_without_provider_is_priced_from_the_model() -> None:
    canonical = run("OpenAI.chat", OI_LLAMA_INDEX_LLM)
    assert columns(
        canonical, "node_type", "model", "provider", "total_tokens", "cost_usd", "cost_source", "output"
    ) == {
        "node_type": "llm",
        "model": "gpt-4o",
        "provider": None,
        "total_tokens": 576,
        "cost_usd": priced("gpt-4o", None, 512, 0, 64),
        "cost_source": "computed",
        "output": "assistant: He wrote short stories and programmed on an IBM 1401.",
    }


# LangChain tool span (same _tracer.py: TOOL kind, tool.name / tool.description from the
# serialized tool, the single string input passed through as input.value).
OI_LANGCHAIN_TOOL = {
    "openinference.span.kind": "TOOL",
    "tool.name": "multiply",
    "tool.description": "Multiply two integers together.",
    "input.value": "{'a': 2, 'b': 3}",
    "output.value": "6",
}


def test_openinference_tool_span() -> None:
    canonical = run("multiply", OI_LANGCHAIN_TOOL)
    assert columns(canonical, "node_type", "tool_name", "input", "output", "cost_usd", "cost_source") == {
        "node_type": "tool",
        "tool_name": "multiply",
        "input": "{'a': 2, 'b': 3}",
        "output": "6",
        "cost_usd": None,
        "cost_source": None,
    }


@pytest.mark.parametrize(
    ("kind", "node_type"),
    [
        ("LLM", "llm"),
        ("CHAIN", "chain"),
        ("TOOL", "tool"),
        ("AGENT", "agent"),
        ("RETRIEVER", "retriever"),
        ("EMBEDDING", "embedding"),
        ("RERANKER", "reranker"),
        ("GUARDRAIL", "guardrail"),
        ("EVALUATOR", "evaluator"),
        ("PROMPT", "prompt"),
    ],
)
def test_openinference_span_kinds(kind: str, node_type: str) -> None:
    # openinference.span.kind values: Arize-ai/openinference spec/semantic_conventions.md ("Span Kinds").
    assert run("span", {"openinference.span.kind": kind}).node_type == node_type


# Agent span with agent.name: Arize-ai/openinference python/openinference-semantic-conventions/
# src/openinference/semconv/trace/__init__.py (SpanAttributes.AGENT_NAME = "agent.name").
def test_openinference_agent_name() -> None:
    attributes = {"openinference.span.kind": "AGENT", "agent.name": "research_agent", "input.value": "Find papers"}
    canonical = run("research_agent", attributes)
    assert columns(canonical, "node_type", "agent_name", "input") == {
        "node_type": "agent",
        "agent_name": "research_agent",
        "input": "Find papers",
    }


# llm.cost.total: Arize-ai/openinference .../semconv/trace/__init__.py (LLM_COST_TOTAL, USD).
def test_openinference_reported_cost_wins_over_computed() -> None:
    canonical = run("ChatOpenAI", {**OI_LANGCHAIN_LLM, "llm.cost.total": 0.00319})
    assert (canonical.cost_usd, canonical.cost_source) == (Decimal("0.00319"), "reported")


# OpenAI embeddings span: Arize-ai/openinference python/instrumentation/
# openinference-instrumentation-openai/src/openinference/instrumentation/openai/
# _response_attributes_extractor.py (_get_attributes_from_create_embedding_response: the model under
# embedding.model_name, usage under llm.token_count.prompt / total) and _request_attributes_extractor.py.
OI_OPENAI_EMBEDDING = {
    "openinference.span.kind": "EMBEDDING",
    "llm.system": "openai",
    "llm.provider": "openai",
    "input.value": '{"input": "Hello world", "model": "text-embedding-3-small"}',
    "input.mime_type": "application/json",
    "embedding.invocation_parameters": '{"model": "text-embedding-3-small"}',
    "embedding.model_name": "text-embedding-3-small",
    "embedding.embeddings.0.embedding.text": "Hello world",
    "llm.token_count.prompt": 8,
    "llm.token_count.total": 8,
}


def test_openinference_embedding_span() -> None:
    canonical = run("CreateEmbeddingResponse", OI_OPENAI_EMBEDDING)
    assert columns(canonical, "node_type", "provider", "input_tokens", "output_tokens", "total_tokens", "input") == {
        "node_type": "embedding",
        "provider": "openai",
        "input_tokens": 8,
        "output_tokens": None,
        "total_tokens": 8,
        "input": '{"input": "Hello world", "model": "text-embedding-3-small"}',
    }


def test_openinference_embedding_model_name_is_the_model() -> None:
    # OpenInference keeps an embedding span's model under embedding.model_name, not llm.model_name
    # (spec/genai/README.md maps it to gen_ai.request.model); without it the usage cannot be priced.
    canonical = run("CreateEmbeddingResponse", OI_OPENAI_EMBEDDING)
    assert columns(canonical, "model", "cost_usd", "cost_source") == {
        "model": "text-embedding-3-small",
        "cost_usd": priced("text-embedding-3-small", "openai", 8, 0, 0),
        "cost_source": "computed",
    }


# Exception on an OpenInference span: _tracer.py sets status ERROR with run.error as the description
# and _record_exception adds an "exception" event (exception.type / .message / .escaped).
def test_openinference_error() -> None:
    exception = {"exception.type": "ZeroDivisionError", "exception.message": "division by zero"}
    canonical = run(
        "divide",
        {"openinference.span.kind": "TOOL", "tool.name": "divide"},
        status_code=STATUS_ERROR,
        status_message="ZeroDivisionError('division by zero')",
        exception=exception,
    )
    assert columns(canonical, "error_type", "error_message") == {
        "error_type": "ZeroDivisionError",
        "error_message": "ZeroDivisionError('division by zero')",
    }


# --------------------------------------------------------------------------------------------
# OpenLLMetry (traceloop)
# --------------------------------------------------------------------------------------------

# @workflow span: traceloop/openllmetry packages/traceloop-sdk/traceloop/sdk/decorators/base.py
# (span "<name>.workflow", traceloop.span.kind / entity.name, entity.input as json.dumps({"args",
# "kwargs"}), entity.output as json.dumps(result)); traceloop.workflow.name and
# traceloop.association.properties.* are added by the SDK's span processor from context.
TRACELOOP_WORKFLOW = {
    "traceloop.span.kind": "workflow",
    "traceloop.entity.name": "joke_generator",
    "traceloop.workflow.name": "joke_generator",
    "traceloop.entity.input": '{"args": [], "kwargs": {"topic": "pirates"}}',
    "traceloop.entity.output": '"Why did the pirate go to school? To improve his arrr-ticulation!"',
    "traceloop.association.properties.user_id": "user-7",
    "traceloop.association.properties.session_id": "session-42",
}


def test_openllmetry_workflow_span() -> None:
    assert columns(run("joke_generator.workflow", TRACELOOP_WORKFLOW)) == {
        "node_type": "chain",
        "agent_name": "joke_generator",
        "agent_id": None,
        "model": None,
        "provider": None,
        "input_tokens": None,
        "output_tokens": None,
        "cache_read_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "total_tokens": None,
        "usage_aggregated": False,
        "cost_usd": None,
        "cost_source": None,
        "input": '{"args": [], "kwargs": {"topic": "pirates"}}',
        "output": '"Why did the pirate go to school? To improve his arrr-ticulation!"',
        "user_id": "user-7",
        "session_id": "session-42",
        "tool_name": None,
        **NO_ERROR,
    }


@pytest.mark.parametrize(
    ("kind", "node_type"), [("workflow", "chain"), ("task", "chain"), ("agent", "agent"), ("tool", "tool")]
)
def test_openllmetry_span_kinds(kind: str, node_type: str) -> None:
    # TraceloopSpanKindValues: traceloop/openllmetry packages/opentelemetry-semantic-conventions-ai/
    # opentelemetry/semconv_ai/__init__.py.
    attributes = {"traceloop.span.kind": kind, "traceloop.entity.name": "step"}
    assert run(f"step.{kind}", attributes).node_type == node_type


# @tool span (decorators/base.py, tlp_span_kind=TOOL): the tool's name is traceloop.entity.name.
def test_openllmetry_tool_span_is_named_by_its_entity() -> None:
    attributes = {
        "traceloop.span.kind": "tool",
        "traceloop.entity.name": "get_weather",
        "traceloop.entity.path": "joke_generator",
        "traceloop.workflow.name": "joke_generator",
        "traceloop.entity.input": '{"args": ["Paris"], "kwargs": {}}',
        "traceloop.entity.output": '"sunny"',
    }
    canonical = run("get_weather.tool", attributes)
    assert columns(canonical, "node_type", "tool_name", "agent_name", "input", "output") == {
        "node_type": "tool",
        "tool_name": "get_weather",
        "agent_name": "joke_generator",
        "input": '{"args": ["Paris"], "kwargs": {}}',
        "output": '"sunny"',
    }


# OpenAI chat span: traceloop/openllmetry packages/opentelemetry-instrumentation-openai/opentelemetry/
# instrumentation/openai/shared/__init__.py (_set_request_attributes, _set_response_attributes: usage
# under gen_ai.usage.prompt_tokens / completion_tokens in the releases using the pre-1.27 names,
# llm.usage.total_tokens, gen_ai.usage.cache_read_input_tokens) and chat_wrappers.py (_set_prompts /
# _set_completions flatten messages to gen_ai.prompt.{i}.* / gen_ai.completion.{i}.*).
TRACELOOP_OPENAI_CHAT = {
    "llm.request.type": "chat",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "gen_ai.response.id": "chatcmpl-AbC123",
    "gen_ai.openai.api_base": "https://api.openai.com/v1/",
    "llm.is_streaming": False,
    "llm.headers": "None",
    "gen_ai.prompt.0.role": "user",
    "gen_ai.prompt.0.content": "Tell me a joke about pirates",
    "gen_ai.completion.0.role": "assistant",
    "gen_ai.completion.0.content": "Why did the pirate go to school? To improve his arrr-ticulation!",
    "gen_ai.completion.0.finish_reason": "stop",
    "gen_ai.usage.prompt_tokens": 1200,
    "gen_ai.usage.completion_tokens": 300,
    "llm.usage.total_tokens": 1500,
    "gen_ai.usage.cache_read_input_tokens": 1000,
    "traceloop.workflow.name": "joke_generator",
    "traceloop.association.properties.user_id": "user-7",
    "traceloop.association.properties.session_id": "session-42",
}


def test_openllmetry_openai_chat_span() -> None:
    canonical = run("openai.chat", TRACELOOP_OPENAI_CHAT)
    row = columns(canonical)
    del row["input"], row["output"]  # see the next test
    assert row == {
        "node_type": "llm",
        "agent_name": "joke_generator",
        "agent_id": None,
        "model": "gpt-4o-2024-08-06",
        "provider": "openai",
        "input_tokens": 1200,
        "output_tokens": 300,
        "cache_read_tokens": 1000,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "total_tokens": 1500,
        "usage_aggregated": False,
        "cost_usd": priced("gpt-4o-2024-08-06", "openai", 1200, 1000, 300),
        "cost_source": "computed",
        "user_id": "user-7",
        "session_id": "session-42",
        "tool_name": None,
        **NO_ERROR,
    }


def test_openllmetry_flattened_prompt_and_completion_are_the_input_and_output() -> None:
    # OpenLLMetry never sets a bare gen_ai.prompt / gen_ai.completion on LLM spans: the messages are
    # flattened to gen_ai.prompt.{i}.role/.content and gen_ai.completion.{i}.* (chat_wrappers.py).
    canonical = run("openai.chat", TRACELOOP_OPENAI_CHAT)
    assert canonical.input is not None
    assert "Tell me a joke about pirates" in canonical.input
    assert canonical.output is not None
    assert "arrr-ticulation" in canonical.output


# Ollama chat span: traceloop/openllmetry packages/opentelemetry-instrumentation-ollama
# (gen_ai.system "Ollama", prompt/completion tokens and llm.usage.total_tokens); a local model
# genai-prices has no price for.
TRACELOOP_OLLAMA_CHAT = {
    "llm.request.type": "chat",
    "gen_ai.system": "Ollama",
    "gen_ai.request.model": "llama3.2:3b",
    "gen_ai.response.model": "llama3.2:3b",
    "gen_ai.usage.prompt_tokens": 26,
    "gen_ai.usage.completion_tokens": 98,
    "llm.usage.total_tokens": 124,
}


def test_unknown_model_with_usage_has_unknown_cost() -> None:
    canonical = run("ollama.chat", TRACELOOP_OLLAMA_CHAT)
    assert columns(canonical, "node_type", "model", "provider", "total_tokens", "cost_usd", "cost_source") == {
        "node_type": "llm",
        "model": "llama3.2:3b",
        "provider": "Ollama",
        "total_tokens": 124,
        "cost_usd": None,
        "cost_source": "unknown",
    }


# --------------------------------------------------------------------------------------------
# Langfuse
# --------------------------------------------------------------------------------------------

# Generation from the Langfuse Python SDK v3: langfuse/langfuse-python langfuse/_client/attributes.py
# (create_generation_attributes: input/output/usage_details/cost_details/model_parameters serialised
# with json.dumps by _serialize; trace attributes langfuse.trace.name, user.id, session.id).
LANGFUSE_GENERATION = {
    "langfuse.observation.type": "generation",
    "langfuse.observation.model.name": "gpt-4o",
    "langfuse.observation.model.parameters": '{"temperature": 0.2}',
    "langfuse.observation.input": '[{"role": "user", "content": "Where is my order #1234?"}]',
    "langfuse.observation.output": '{"role": "assistant", "content": "It ships tomorrow."}',
    "langfuse.observation.usage_details": '{"input": 1200, "output": 300}',
    "langfuse.observation.cost_details": '{"input": 0.003, "output": 0.003}',
    "langfuse.observation.completion_start_time": '"2025-06-01T00:00:01.250000+00:00"',
    "langfuse.trace.name": "support-chat",
    "langfuse.environment": "production",
    "user.id": "user-7",
    "session.id": "session-42",
}


def test_langfuse_generation() -> None:
    assert columns(run("llm-call", LANGFUSE_GENERATION)) == {
        "node_type": "llm",
        "agent_name": "support-chat",
        "agent_id": None,
        "model": "gpt-4o",
        "provider": None,
        "input_tokens": 1200,
        "output_tokens": 300,
        "cache_read_tokens": None,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "total_tokens": 1500,
        "usage_aggregated": False,
        "cost_usd": Decimal("0.006"),
        "cost_source": "reported",
        "input": '[{"role": "user", "content": "Where is my order #1234?"}]',
        "output": '{"role": "assistant", "content": "It ships tomorrow."}',
        "user_id": "user-7",
        "session_id": "session-42",
        "tool_name": None,
        **NO_ERROR,
    }


def test_langfuse_reported_total_wins_over_the_sum_of_its_parts() -> None:
    attributes = {
        **LANGFUSE_GENERATION,
        "langfuse.observation.cost_details": '{"input": 0.003, "output": 0.003, "total": 0.0061}',
    }
    canonical = run("llm-call", attributes)
    assert (canonical.cost_usd, canonical.cost_source) == (Decimal("0.0061"), "reported")


def test_langfuse_usage_without_cost_is_priced_from_the_model() -> None:
    attributes = {k: v for k, v in LANGFUSE_GENERATION.items() if k != "langfuse.observation.cost_details"}
    canonical = run("llm-call", attributes)
    assert (canonical.cost_usd, canonical.cost_source) == (priced("gpt-4o", None, 1200, 0, 300), "computed")


# LangChain generation through Langfuse's CallbackHandler: langfuse/langfuse-python
# langfuse/langchain/CallbackHandler.py (_parse_usage_model: input_tokens/output_tokens/total_tokens ->
# input/output/total, input_token_details.<k> -> input_<k> SUBTRACTED from input, output_token_details.<k>
# -> output_<k> SUBTRACTED from output). Langfuse's usage types are disjoint buckets whose sum is the
# total (langfuse.com/docs/model-usage-and-cost: "If no total usage type is ingested, Langfuse sums up
# all usage type units to a total"). LangChain reported input_tokens=1200 (1000 from cache),
# output_tokens=300 (60 of them reasoning), total_tokens=1500.
LANGFUSE_LANGCHAIN_GENERATION = {
    "langfuse.observation.type": "generation",
    "langfuse.observation.model.name": "gpt-4o-2024-08-06",
    "langfuse.observation.usage_details": (
        '{"input": 200, "output": 240, "total": 1500, "input_cache_read": 1000, "output_reasoning": 60}'
    ),
    "user.id": "user-7",
    "session.id": "session-42",
}


def test_langfuse_usage_buckets_are_disjoint() -> None:
    canonical = run("ChatOpenAI", LANGFUSE_LANGCHAIN_GENERATION)
    assert columns(
        canonical, "input_tokens", "output_tokens", "cache_read_tokens", "reasoning_tokens", "total_tokens", "cost_usd"
    ) == {
        "input_tokens": 1200,
        "output_tokens": 300,
        "cache_read_tokens": 1000,
        "reasoning_tokens": 60,
        "total_tokens": 1500,
        "cost_usd": priced("gpt-4o-2024-08-06", None, 1200, 1000, 300),
    }


# OpenAI call through Langfuse's OpenAI integration: langfuse/langfuse-python langfuse/openai.py
# (_parse_usage passes OpenAI's usage object through as usage_details, nested *_tokens_details kept,
# for the Langfuse server to interpret).
LANGFUSE_OPENAI_GENERATION = {
    "langfuse.observation.type": "generation",
    "langfuse.observation.model.name": "gpt-4o-2024-08-06",
    "langfuse.observation.usage_details": json.dumps(
        {
            "completion_tokens": 300,
            "prompt_tokens": 1200,
            "total_tokens": 1500,
            "completion_tokens_details": {
                "accepted_prediction_tokens": 0,
                "audio_tokens": 0,
                "reasoning_tokens": 60,
                "rejected_prediction_tokens": 0,
            },
            "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 1000},
        }
    ),
    "langfuse.observation.input": '[{"role": "user", "content": "Where is my order #1234?"}]',
}


def test_langfuse_openai_integration_usage() -> None:
    canonical = run("OpenAI-generation", LANGFUSE_OPENAI_GENERATION)
    assert columns(canonical, "node_type", "model", "input_tokens", "output_tokens", "total_tokens") == {
        "node_type": "llm",
        "model": "gpt-4o-2024-08-06",
        "input_tokens": 1200,
        "output_tokens": 300,
        "total_tokens": 1500,
    }


def test_langfuse_openai_integration_nested_cache_and_reasoning_details() -> None:
    canonical = run("OpenAI-generation", LANGFUSE_OPENAI_GENERATION)
    assert columns(canonical, "cache_read_tokens", "reasoning_tokens", "cost_usd") == {
        "cache_read_tokens": 1000,
        "reasoning_tokens": 60,
        "cost_usd": priced("gpt-4o-2024-08-06", None, 1200, 1000, 300),
    }


@pytest.mark.parametrize(
    ("observation_type", "node_type"),
    [
        ("generation", "llm"),
        ("embedding", "embedding"),
        ("agent", "agent"),
        ("tool", "tool"),
        ("chain", "chain"),
        ("retriever", "retriever"),
        ("evaluator", "evaluator"),
        ("guardrail", "guardrail"),
        ("span", "span"),
        ("event", "span"),
    ],
)
def test_langfuse_observation_types(observation_type: str, node_type: str) -> None:
    # Observation types: langfuse/langfuse-python langfuse/_client/constants.py (ObservationTypeGenerationLike,
    # ObservationTypeSpanLike, ObservationTypeLiteral with "event").
    assert run("observation", {"langfuse.observation.type": observation_type}).node_type == node_type


# Tool observation (langfuse-python start_as_current_observation(as_type="tool", name="get_weather")):
# no tool-name attribute, the observation's name is the span name.
def test_langfuse_tool_is_named_by_its_span() -> None:
    attributes = {
        "langfuse.observation.type": "tool",
        "langfuse.observation.input": '{"city": "Paris"}',
        "langfuse.observation.output": '"sunny"',
    }
    canonical = run("get_weather", attributes)
    assert columns(canonical, "node_type", "tool_name", "input", "output") == {
        "node_type": "tool",
        "tool_name": "get_weather",
        "input": '{"city": "Paris"}',
        "output": '"sunny"',
    }


# Compatibility keys Langfuse's OTel endpoint still accepts: langfuse/langfuse
# web/src/features/otel/server/attributes.ts (TRACE_COMPAT_USER_ID / TRACE_COMPAT_SESSION_ID).
def test_langfuse_compat_user_and_session_keys() -> None:
    attributes = {"langfuse.observation.type": "span", "langfuse.user.id": "user-7", "langfuse.session.id": "s-1"}
    assert columns(run("step", attributes), "user_id", "session_id") == {"user_id": "user-7", "session_id": "s-1"}


# --------------------------------------------------------------------------------------------
# Logfire / pydantic-ai
# --------------------------------------------------------------------------------------------

# Agent run span of pydantic-ai (format version 5, the default): pydantic/pydantic-ai
# pydantic_ai_slim/pydantic_ai/agent/__init__.py (span attributes at start: model_name, agent_name,
# gen_ai.agent.name, gen_ai.agent.call.id, gen_ai.conversation.id, gen_ai.operation.name,
# logfire.msg; final_result; _run_span_end_attributes: gen_ai.aggregated_usage.* when
# use_aggregated_usage_attribute_names, the default) and tests/test_logfire.py snapshots; usage keys
# from pydantic_ai_slim/pydantic_ai/usage.py (opentelemetry_attributes). Version 2 names the same
# span "agent run".
PYDANTIC_AI_AGENT_RUN = {
    "model_name": "gpt-4o",
    "agent_name": "support_agent",
    "gen_ai.agent.name": "support_agent",
    "gen_ai.agent.call.id": "01JX2Q7W3M4N5P6R7S8T9V0W1X",
    "gen_ai.conversation.id": "01JX2Q7W3M4N5P6R7S8T9V0W1Y",
    "gen_ai.operation.name": "invoke_agent",
    "logfire.msg": "support_agent run",
    "logfire.span_type": "span",
    "final_result": '{"my_ret":"1"}',
    "gen_ai.aggregated_usage.input_tokens": 103,
    "gen_ai.aggregated_usage.output_tokens": 12,
    "gen_ai.aggregated_usage.cache_read.input_tokens": 40,
    "gen_ai.aggregated_usage.details.cache_read_tokens": 40,
    "pydantic_ai.all_messages": (
        '[{"role":"user","parts":[{"type":"text","content":"Hello"}]},'
        '{"role":"assistant","parts":[{"type":"text","content":"{\\"my_ret\\":\\"1\\"}"}]}]'
    ),
    "gen_ai.system_instructions": '[{"type":"text","content":"You are a helpful assistant."}]',
    "logfire.json_schema": (
        '{"type":"object","properties":{"pydantic_ai.all_messages":{"type":"array"},'
        '"gen_ai.system_instructions":{"type":"array"},"final_result":{"type":"object"}}}'
    ),
}


@pytest.mark.parametrize("name", ["invoke_agent support_agent", "agent run"])
def test_pydantic_ai_agent_run_span(name: str) -> None:
    assert columns(run(name, PYDANTIC_AI_AGENT_RUN)) == {
        "node_type": "agent",
        "agent_name": "support_agent",
        "agent_id": None,
        "model": None,
        "provider": None,
        "input_tokens": 103,
        "output_tokens": 12,
        "cache_read_tokens": 40,
        "cache_write_tokens": None,
        "reasoning_tokens": None,
        "total_tokens": 115,
        "usage_aggregated": True,
        "cost_usd": None,
        "cost_source": "unknown",
        "input": "Hello",  # the first user message of pydantic_ai.all_messages: the only place it is
        "output": '{"my_ret":"1"}',
        "user_id": None,
        "session_id": "01JX2Q7W3M4N5P6R7S8T9V0W1Y",
        "tool_name": None,
        **NO_ERROR,
    }


# Agent run span of older pydantic-ai releases: pydantic/pydantic-ai pydantic_ai_slim/pydantic_ai/
# agent.py / agent/__init__.py before use_aggregated_usage_attribute_names existed (span "agent run"
# with model_name, agent_name and logfire.msg only; _run_span_end_attributes returned
# **usage.opentelemetry_attributes(), i.e. the run's cumulative usage under gen_ai.usage.*, plus
# all_messages_events; final_result a str or json.dumps of the output).
PYDANTIC_AI_LEGACY_AGENT_RUN = {
    "model_name": "gpt-4o",
    "agent_name": "support_agent",
    "logfire.msg": "support_agent run",
    "logfire.span_type": "span",
    "gen_ai.usage.input_tokens": 103,
    "gen_ai.usage.output_tokens": 12,
    "all_messages_events": '[{"content":"Hello","role":"user","gen_ai.message.index":0,"event.name":"gen_ai.user.message"}]',
    "final_result": '{"city": "Paris", "country": "France"}',
    "logfire.json_schema": (
        '{"type":"object","properties":{"all_messages_events":{"type":"array"},"final_result":{"type":"object"}}}'
    ),
}


def test_pydantic_ai_legacy_agent_run_span() -> None:
    canonical = run("agent run", PYDANTIC_AI_LEGACY_AGENT_RUN)
    assert columns(
        canonical, "node_type", "agent_name", "model", "input", "output", "input_tokens", "output_tokens"
    ) == {
        "node_type": "agent",
        "agent_name": "support_agent",
        "model": None,
        "input": "Hello",  # all_messages_events' first user message
        "output": '{"city": "Paris", "country": "France"}',
        "input_tokens": 103,
        "output_tokens": 12,
    }


def test_pydantic_ai_legacy_agent_run_usage_is_aggregated() -> None:
    # That usage is the sum of the run's chat spans: it must not count again in the run's totals.
    canonical = run("agent run", PYDANTIC_AI_LEGACY_AGENT_RUN)
    assert columns(canonical, "usage_aggregated", "cost_usd", "cost_source") == {
        "usage_aggregated": True,
        "cost_usd": None,
        "cost_source": "unknown",
    }


# The agent run span of pydantic-ai-slim 2.68.0 as it is emitted (read from a real run: TestModel, a
# tool, InstrumentationSettings(tracer_provider=...), format version 6; the attributes are set in
# pydantic_ai/capabilities/instrumentation.py, _run_span_end_attributes). A second run of the same
# conversation: message_history holds the first run's messages, pydantic_ai.new_message_index says
# where this run's own begin. Tool results are a "tool" message from version 6 on, a "user" one before.
PYDANTIC_AI_SECOND_RUN = {
    "model_name": "test",
    "agent_name": "triager",
    "gen_ai.agent.name": "triager",
    "gen_ai.agent.call.id": "01a241d8-0212-72a8-84d4-241d1fc055fd",
    "gen_ai.conversation.id": "01a241d8-0212-72a8-84d4-241eec3c186d",
    "gen_ai.operation.name": "invoke_agent",
    "logfire.msg": "triager run",
    "final_result": '{"search":"found"}',
    "gen_ai.aggregated_usage.input_tokens": 111,
    "gen_ai.aggregated_usage.output_tokens": 14,
    "pydantic_ai.all_messages": json_text(
        [
            {"role": "user", "parts": [{"type": "text", "content": "Why does login return 500?"}]},
            {"role": "assistant", "parts": [{"type": "text", "content": "The session store is down."}]},
            {
                "role": "user",
                "parts": [{"type": "text", "content": "And the 502s?"}, {"type": "text", "content": "Since 9:00."}],
            },
            {
                "role": "assistant",
                "parts": [
                    {
                        "type": "tool_call",
                        "id": "pyd_ai_tool_call_id__search",
                        "name": "search",
                        "arguments": {"query": "a"},
                    }
                ],
            },
            {
                "role": "tool",
                "parts": [
                    {
                        "type": "tool_call_response",
                        "id": "pyd_ai_tool_call_id__search",
                        "name": "search",
                        "result": "found",
                    }
                ],
            },
            {"role": "assistant", "parts": [{"type": "text", "content": '{"search":"found"}'}]},
        ]
    ),
    "pydantic_ai.new_message_index": 2,
    "logfire.json_schema": (
        '{"type":"object","properties":{"pydantic_ai.all_messages":{"type":"array"},'
        '"pydantic_ai.new_message_index":{},"final_result":{"type":"object"}}}'
    ),
}


def test_a_pydantic_ai_runs_input_is_its_own_first_prompt() -> None:
    canonical = run("invoke_agent triager", PYDANTIC_AI_SECOND_RUN)
    assert columns(canonical, "node_type", "input", "output", "input_key", "output_key") == {
        "node_type": "agent",
        "input": "And the 502s?\nSince 9:00.",  # this run's prompt (its text parts), not the conversation's first
        "output": '{"search":"found"}',
        "input_key": None,
        "output_key": "final_result",
    }
    first_run = {**PYDANTIC_AI_SECOND_RUN}
    del first_run["pydantic_ai.new_message_index"]  # set only when earlier messages were passed in
    assert run("invoke_agent triager", first_run).input == "Why does login return 500?"


def test_a_transcript_without_a_user_prompt_gives_no_input() -> None:
    tool_results_only = json_text([{"role": "user", "parts": [{"type": "tool_call_response", "id": "c1",
                                                               "name": "search", "result": "found"}]}])  # fmt: skip
    for transcript in (tool_results_only, "[]", '{"role": "user"}', '[{"role":"user","parts":[{"type":"te', "42"):
        assert run("invoke_agent triager", {"pydantic_ai.all_messages": transcript}).input is None, transcript


def test_an_agent_spans_chat_messages_give_its_prompt_a_model_calls_its_whole_transcript() -> None:
    messages = json_text([
        {"role": "system", "parts": [{"type": "text", "content": "You triage bugs."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Login returns 500"}]},
    ])  # fmt: skip
    agent = run("invoke_agent triager", {"gen_ai.operation.name": "invoke_agent", "gen_ai.input.messages": messages})
    assert (agent.input, agent.input_key) == ("Login returns 500", None)
    structured = run("invoke_agent triager", {"gen_ai.operation.name": "invoke_agent",
                                              "gen_ai.input.messages": [{"role": "user", "content": "Hi"}]})  # fmt: skip
    assert structured.input == "Hi"
    chat = run("chat gpt-4o", {"gen_ai.operation.name": "chat", "gen_ai.input.messages": messages})
    assert (chat.input, chat.input_key) == (messages, "gen_ai.input.messages")  # a node's input: all it was sent
    textless = json_text([{"role": "user", "parts": [{"type": "image", "uri": "s3://shot.png"}]}])
    image_only = run(
        "invoke_agent triager", {"gen_ai.operation.name": "invoke_agent", "gen_ai.input.messages": textless}
    )
    assert (image_only.input, image_only.input_key) == (textless, "gen_ai.input.messages")  # as sent, rather than none


# Model request span: pydantic/pydantic-ai pydantic_ai_slim/pydantic_ai/_instrumentation.py
# (open_model_request_span: "chat <model>", gen_ai.operation.name, model_attributes with both
# gen_ai.provider.name and the deprecated gen_ai.system, baggage agent attributes; response_attributes:
# usage, gen_ai.response.model, operation.cost from genai-prices) and models/instrumented.py
# (handle_messages: gen_ai.input.messages / output.messages as JSON strings); values from the
# tests/models/test_instrumented.py snapshot.
PYDANTIC_AI_CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.system": "openai",
    "gen_ai.request.model": "gpt-4o",
    "server.address": "api.openai.com",
    "model_request_parameters": '{"function_tools":[],"native_tools":[],"output_mode":"text","allow_text_output":true}',
    "gen_ai.agent.name": "support_agent",
    "gen_ai.agent.call.id": "01JX2Q7W3M4N5P6R7S8T9V0W1X",
    "gen_ai.conversation.id": "01JX2Q7W3M4N5P6R7S8T9V0W1Y",
    "logfire.json_schema": '{"type":"object","properties":{"model_request_parameters":{"type":"object"}}}',
    "gen_ai.request.temperature": 1,
    "logfire.msg": "chat gpt-4o",
    "logfire.span_type": "span",
    "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"user_prompt"}]}]',
    "gen_ai.output.messages": '[{"role":"assistant","parts":[{"type":"text","content":"text1"}],"finish_reason":"stop"}]',
    "gen_ai.system_instructions": '[{"type":"text","content":"instructions"}]',
    "gen_ai.response.model": "gpt-4o-2024-11-20",
    "gen_ai.response.id": "response_id",
    "gen_ai.response.finish_reasons": ["stop"],
    "gen_ai.usage.cache_creation.input_tokens": 10,
    "gen_ai.usage.cache_read.input_tokens": 20,
    "gen_ai.usage.details.reasoning_tokens": 30,
    "gen_ai.usage.details.cache_write_tokens": 10,
    "gen_ai.usage.details.cache_read_tokens": 20,
    "gen_ai.usage.input_tokens": 100,
    "gen_ai.usage.output_tokens": 200,
    "operation.cost": 0.002225,
}


def test_pydantic_ai_chat_span() -> None:
    row = columns(run("chat gpt-4o", PYDANTIC_AI_CHAT))
    del row["reasoning_tokens"]  # see the next test
    assert row == {
        "node_type": "llm",
        "agent_name": "support_agent",
        "agent_id": None,
        "model": "gpt-4o-2024-11-20",
        "provider": "openai",
        "input_tokens": 100,
        "output_tokens": 200,
        "cache_read_tokens": 20,
        "cache_write_tokens": 10,
        "total_tokens": 300,
        "usage_aggregated": False,
        "cost_usd": Decimal("0.002225"),
        "cost_source": "reported",
        "input": '[{"role":"user","parts":[{"type":"text","content":"user_prompt"}]}]',
        "output": '[{"role":"assistant","parts":[{"type":"text","content":"text1"}],"finish_reason":"stop"}]',
        "user_id": None,
        "session_id": "01JX2Q7W3M4N5P6R7S8T9V0W1Y",
        "tool_name": None,
        **NO_ERROR,
    }


def test_pydantic_ai_chat_span_reasoning_tokens() -> None:
    # pydantic-ai passes provider usage details through as gen_ai.usage.details.<key> (usage.py,
    # opentelemetry_attributes); OpenAI's completion_tokens_details.reasoning_tokens arrives as
    # gen_ai.usage.details.reasoning_tokens.
    assert run("chat gpt-4o", PYDANTIC_AI_CHAT).reasoning_tokens == 30


# Tool span of pydantic-ai (format version 5): pydantic/pydantic-ai pydantic_ai_slim/pydantic_ai/
# capabilities/instrumentation.py (Instrumentation._tool_span_attributes: "execute_tool <name>", gen_ai.operation.name,
# gen_ai.tool.name / call.id, arguments under InstrumentationNames.tool_arguments_attr =
# gen_ai.tool.call.arguments, baggage agent attributes, logfire.msg "running tool: <name>") and
# _instrumentation.py (InstrumentationNames.for_version); the result under gen_ai.tool.call.result.
PYDANTIC_AI_EXECUTE_TOOL = {
    "gen_ai.operation.name": "execute_tool",
    "gen_ai.tool.name": "get_weather",
    "gen_ai.tool.call.id": "call_Q8Zf3kD2",
    "gen_ai.tool.call.arguments": '{"city":"Paris"}',
    "gen_ai.agent.name": "support_agent",
    "gen_ai.agent.call.id": "01JX2Q7W3M4N5P6R7S8T9V0W1X",
    "gen_ai.conversation.id": "01JX2Q7W3M4N5P6R7S8T9V0W1Y",
    "logfire.msg": "running tool: get_weather",
    "logfire.json_schema": (
        '{"type":"object","properties":{"gen_ai.tool.call.arguments":{"type":"object"},'
        '"gen_ai.tool.call.result":{"type":"object"},"gen_ai.tool.name":{},"gen_ai.tool.call.id":{}}}'
    ),
    "logfire.span_type": "span",
    "gen_ai.tool.call.result": "sunny, 24°C",
}


def test_pydantic_ai_execute_tool_span() -> None:
    canonical = run("execute_tool get_weather", PYDANTIC_AI_EXECUTE_TOOL)
    assert columns(canonical, "node_type", "tool_name", "agent_name", "input", "output", "session_id") == {
        "node_type": "tool",
        "tool_name": "get_weather",
        "agent_name": "support_agent",
        "input": '{"city":"Paris"}',
        "output": "sunny, 24°C",
        "session_id": "01JX2Q7W3M4N5P6R7S8T9V0W1Y",
    }


# Tool span of older pydantic-ai (format versions 1-2): pydantic_ai_slim/pydantic_ai/_tool_manager.py
# (_call_tool_traced: span "running tool", gen_ai.tool.name, gen_ai.tool.call.id, tool_arguments,
# tool_response, logfire.msg; no gen_ai.operation.name).
PYDANTIC_AI_RUNNING_TOOL = {
    "gen_ai.tool.name": "get_weather",
    "gen_ai.tool.call.id": "call_Q8Zf3kD2",
    "tool_arguments": '{"city":"Paris"}',
    "logfire.msg": "running tool: get_weather",
    "logfire.json_schema": (
        '{"type":"object","properties":{"tool_arguments":{"type":"object"},"tool_response":{"type":"object"},'
        '"gen_ai.tool.name":{},"gen_ai.tool.call.id":{}}}'
    ),
    "logfire.span_type": "span",
    "tool_response": "sunny, 24°C",
}


def test_pydantic_ai_running_tool_span() -> None:
    canonical = run("running tool", PYDANTIC_AI_RUNNING_TOOL)
    assert columns(canonical, "node_type", "tool_name", "input", "output", "cost_usd", "cost_source") == {
        "node_type": "tool",
        "tool_name": "get_weather",
        "input": '{"city":"Paris"}',
        "output": "sunny, 24°C",
        "cost_usd": None,
        "cost_source": None,
    }


# Tool that raised inside its span: the OpenTelemetry Python SDK's Span.__exit__ records the exception
# event (escaped=True, written as the string "True") and sets status ERROR with the description
# "<type>: <message>" (opentelemetry-sdk opentelemetry/sdk/trace/__init__.py).
def test_pydantic_ai_tool_error() -> None:
    exception = {"exception.type": "ValueError", "exception.message": "unknown city", "exception.escaped": "True"}
    canonical = run(
        "execute_tool get_weather",
        PYDANTIC_AI_EXECUTE_TOOL,
        status_code=STATUS_ERROR,
        status_message="ValueError: unknown city",
        exception=exception,
    )
    assert columns(canonical, "error_type", "error_message") == {
        "error_type": "ValueError",
        "error_message": "ValueError: unknown city",
    }


# Logfire pending span: pydantic/logfire logfire/_internal/exporters/processor_wrapper.py
# (PendingSpanProcessor.on_start: a copy of the started span's attributes plus
# logfire.span_type = "pending_span" and logfire.pending_parent_id = format_span_id(real parent)),
# constants from logfire/_internal/constants.py. Here the pending twin of pydantic-ai's agent run
# while it is still in flight (its start attributes only).
LOGFIRE_PENDING_AGENT_RUN = {
    "model_name": "gpt-4o",
    "agent_name": "support_agent",
    "gen_ai.agent.name": "support_agent",
    "gen_ai.agent.call.id": "01JX2Q7W3M4N5P6R7S8T9V0W1X",
    "gen_ai.conversation.id": "01JX2Q7W3M4N5P6R7S8T9V0W1Y",
    "gen_ai.operation.name": "invoke_agent",
    "logfire.msg": "support_agent run",
    "logfire.span_type": "pending_span",
    "logfire.pending_parent_id": "0000000000000000",
}


def test_logfire_pending_span_stands_for_its_parent() -> None:
    assert pending_target(LOGFIRE_PENDING_AGENT_RUN) == "parent"
    canonical = run("invoke_agent support_agent", LOGFIRE_PENDING_AGENT_RUN)
    assert columns(canonical, "node_type", "agent_name", "input_tokens", "cost_usd", "cost_source") == {
        "node_type": "agent",
        "agent_name": "support_agent",
        "input_tokens": None,
        "cost_usd": None,
        "cost_source": None,
    }


def test_agentlog_pending_marker_stands_for_itself() -> None:
    assert pending_target({**GENAI_INVOKE_AGENT, "agentlog.span_type": "pending"}) == "self"


@pytest.mark.parametrize(
    "attributes",
    [
        PYDANTIC_AI_AGENT_RUN,  # logfire.span_type "span"
        {"logfire.span_type": "log", "logfire.msg": "hello"},
        GENAI_CHAT,
        {"agentlog.span_type": "final"},
    ],
)
def test_finished_spans_are_not_pending(attributes: dict[str, Any]) -> None:
    assert pending_target(attributes) is None


# --------------------------------------------------------------------------------------------
# Several conventions on one span
# --------------------------------------------------------------------------------------------

# A span annotated in both conventions, attribute for attribute as Arize-ai/openinference
# spec/genai/README.md pairs them (openinference.span.kind <-> gen_ai.operation.name, llm.model_name
# <-> gen_ai.request.model, llm.system/llm.provider <-> gen_ai.provider.name, llm.token_count.* <->
# gen_ai.usage.*, session.id <-> gen_ai.conversation.id, tool.name <-> gen_ai.tool.name), with
# deliberately different values on each side.
MIXED = {
    "gen_ai.operation.name": "execute_tool",
    "openinference.span.kind": "LLM",
    "gen_ai.provider.name": "openai",
    "llm.provider": "azure",
    "llm.system": "openai",
    "gen_ai.request.model": "gpt-4o",
    "llm.model_name": "gpt-4o-mini",
    "gen_ai.usage.input_tokens": 100,
    "llm.token_count.prompt": 999,
    "gen_ai.usage.output_tokens": 20,
    "llm.token_count.completion": 888,
    "llm.token_count.total": 1887,
    "gen_ai.usage.cache_read.input_tokens": 50,
    "llm.token_count.prompt_details.cache_read": 777,
    "gen_ai.usage.reasoning.output_tokens": 5,
    "llm.token_count.completion_details.reasoning": 666,
    "gen_ai.tool.name": "get_weather",
    "tool.name": "weather_tool",
    "gen_ai.tool.call.arguments": {"city": "Paris"},
    "input.value": "city=Paris",
    "gen_ai.tool.call.result": {"conditions": "sunny"},
    "output.value": "sunny",
    "gen_ai.conversation.id": "conv-1",
    "session.id": "session-1",
    "gen_ai.agent.name": "weather_agent",
    "agent.name": "other_agent",
    "langfuse.observation.type": "generation",
    "langfuse.observation.model.name": "claude-3-5-sonnet-20241022",
    "langfuse.observation.usage_details": '{"input": 5, "output": 5}',
}


def test_genai_semconv_keys_win_over_the_other_conventions() -> None:
    assert columns(run("execute_tool get_weather", MIXED)) == {
        "node_type": "tool",
        "agent_name": "weather_agent",
        "agent_id": None,
        "model": "gpt-4o",
        "provider": "openai",
        "input_tokens": 100,
        "output_tokens": 20,
        "cache_read_tokens": 50,
        "cache_write_tokens": None,
        "reasoning_tokens": 5,
        "total_tokens": 1887,  # no GenAI total exists, so OpenInference's is the first present
        "usage_aggregated": False,
        "cost_usd": priced("gpt-4o", "openai", 100, 50, 20),
        "cost_source": "computed",
        "input": '{"city":"Paris"}',
        "output": '{"conditions":"sunny"}',
        "user_id": None,
        "session_id": "conv-1",
        "tool_name": "get_weather",
        **NO_ERROR,
    }


def test_reported_cost_keys_in_table_order() -> None:
    # gen_ai.usage.cost (OpenLIT) before llm.cost.total (OpenInference) before operation.cost
    # (pydantic-ai) before Langfuse's cost_details.
    attributes = {
        **OPENLIT_CHAT,
        "llm.cost.total": 0.2,
        "operation.cost": 0.3,
        "langfuse.observation.cost_details": '{"total": 0.4}',
    }
    assert run("chat gpt-4o", attributes).cost_usd == Decimal("0.0061")
    del attributes["gen_ai.usage.cost"]
    assert run("chat gpt-4o", attributes).cost_usd == Decimal("0.2")
    del attributes["llm.cost.total"]
    assert run("chat gpt-4o", attributes).cost_usd == Decimal("0.3")
    del attributes["operation.cost"]
    assert run("chat gpt-4o", attributes).cost_usd == Decimal("0.4")


# --------------------------------------------------------------------------------------------
# Values of the wrong type
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tokens"),
    [
        (1200, 1200),
        ("1200", 1200),  # an int sent as a string of digits is read
        (1200.0, 1200),  # a whole double is read
        (0, 0),
        (12.5, None),
        ("12.5", None),
        ("-5", None),
        (-5, None),
        (-5.0, None),
        (True, None),  # a bool is not a count
        (False, None),
        ("twelve", None),
        ("", None),
        ([1200], None),
        ({"value": 1200}, None),
        (None, None),
    ],
)
def test_token_counts_of_other_types(value: Any, tokens: int | None) -> None:
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": value}
    canonical = run("chat gpt-4o", attributes)
    assert (canonical.input_tokens, canonical.total_tokens) == (tokens, tokens)
    assert canonical.cost_source == (None if tokens is None else "computed")


@pytest.mark.parametrize("value", ["²", "①", "¹²"])
def test_token_counts_that_are_digits_to_str_isdigit_but_not_to_int_are_ignored(value: str) -> None:
    # str.isdigit() is True for superscripts and circled digits, which int() rejects: a malformed
    # attribute must be skipped, never fail the whole span.
    attributes = {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": value}
    assert run("chat gpt-4o", attributes).input_tokens is None


def test_a_token_count_of_the_wrong_type_falls_through_to_the_next_key() -> None:
    attributes = {"gen_ai.usage.input_tokens": "n/a", "gen_ai.usage.prompt_tokens": True, "llm.token_count.prompt": 7}
    assert run("span", attributes).input_tokens == 7


@pytest.mark.parametrize(
    ("value", "cost"),
    [
        (0.0061, Decimal("0.0061")),
        ("0.0061", Decimal("0.0061")),  # a number sent as a string is read
        (0, Decimal(0)),
        (1e-7, Decimal("1E-7")),
        (-0.5, None),
        ("-0.5", None),
        (True, None),
        ("NaN", None),
        ("Infinity", None),
        ("free", None),
        ([0.0061], None),
    ],
)
def test_reported_costs_of_other_types(value: Any, cost: Decimal | None) -> None:
    canonical = run("chat gpt-4o", {**OPENLIT_CHAT, "gen_ai.usage.cost": value})
    if cost is None:  # not a cost: priced from the model instead
        assert (canonical.cost_usd, canonical.cost_source) == (
            priced("gpt-4o-2024-08-06", "openai", 1200, 0, 300),
            "computed",
        )
    else:
        assert (canonical.cost_usd, canonical.cost_source) == (cost, "reported")


@pytest.mark.parametrize(
    "usage_details",
    ["not json", "[1200, 300]", '"1200"', "", '{"input": "many", "output": null}', {"input": True}],
)
def test_langfuse_usage_details_that_are_not_usable_give_no_usage(usage_details: Any) -> None:
    attributes = {**LANGFUSE_GENERATION, "langfuse.observation.usage_details": usage_details}
    del attributes["langfuse.observation.cost_details"]
    canonical = run("llm-call", attributes)
    assert columns(canonical, "input_tokens", "output_tokens", "total_tokens", "cost_usd", "cost_source") == {
        "input_tokens": None,
        "output_tokens": None,
        "total_tokens": None,
        "cost_usd": None,
        "cost_source": None,
    }


def test_langfuse_usage_details_sent_as_a_kvlist_are_read() -> None:
    # An OTLP kvlist arrives as a dict (anyvalue.value_to_python); same meaning as the JSON string.
    attributes = {**LANGFUSE_GENERATION, "langfuse.observation.usage_details": {"input": 1200, "output": 300}}
    assert columns(run("llm-call", attributes), "input_tokens", "output_tokens") == {
        "input_tokens": 1200,
        "output_tokens": 300,
    }


def test_langfuse_cost_details_with_a_part_that_is_not_a_number_are_not_reported() -> None:
    attributes = {**LANGFUSE_GENERATION, "langfuse.observation.cost_details": '{"input": 0.003, "output": "n/a"}'}
    canonical = run("llm-call", attributes)
    assert (canonical.cost_usd, canonical.cost_source) == (priced("gpt-4o", None, 1200, 0, 300), "computed")


@pytest.mark.parametrize(("value", "model"), [(42, None), ("", None), (["gpt-4o"], None), ("gpt-4o", "gpt-4o")])
def test_model_of_the_wrong_type_is_ignored(value: Any, model: str | None) -> None:
    # An empty or non-string gen_ai.response.model falls through to gen_ai.request.model.
    attributes = {"gen_ai.response.model": value, "gen_ai.request.model": "gpt-4o-mini"}
    assert run("chat", attributes).model == (model or "gpt-4o-mini")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (42, "42"),
        (False, "false"),
        (["a", "b"], '["a","b"]'),
        ({"q": "Paris"}, '{"q":"Paris"}'),
        ("", "fallback"),  # an empty string falls through to the next key
    ],
)
def test_input_values_of_other_types_become_json_text(value: Any, text: str) -> None:
    attributes = {"openinference.span.kind": "CHAIN", "input.value": value, "traceloop.entity.input": "fallback"}
    assert run("chain", attributes).input == text


@pytest.mark.parametrize("value", [5, True, ["workflow"], "WORKFLOW", "Workflow"])
def test_span_kind_values_of_other_types_or_case(value: Any) -> None:
    # Kinds are matched case-insensitively; a non-string kind is ignored and the shape decides.
    canonical = run("step", {"traceloop.span.kind": value})
    assert canonical.node_type == ("chain" if isinstance(value, str) else "span")


def test_unknown_kind_values_fall_back_to_the_shape() -> None:
    # gen_ai.operation.name "plan" (semantic-conventions-genai gen-ai-agent-spans.md) is not in the
    # table; with a tool name on the span the shape says tool.
    attributes = {"gen_ai.operation.name": "plan", "openinference.span.kind": "UNKNOWN", "tool.name": "planner"}
    assert run("plan", attributes).node_type == "tool"
    assert run("plan", {"gen_ai.operation.name": "plan"}).node_type == "span"


# --------------------------------------------------------------------------- cache writes


@pytest.mark.parametrize(
    "key",
    [
        "gen_ai.usage.cache_creation.input_tokens",  # semantic conventions from v1.40
        "gen_ai.usage.cache_creation_input_tokens",  # OpenLLMetry before semconv-ai 0.5
        "gen_ai.usage.details.cache_write_tokens",  # pydantic-ai's provider details
        "llm.token_count.prompt_details.cache_write",  # OpenInference
        "ai.usage.inputTokenDetails.cacheWriteTokens",  # Vercel AI SDK 6.0.119+
    ],
)
def test_cache_writes_are_counted_and_priced_at_the_cache_write_price(key: str) -> None:
    # claude-haiku-4-5: $1 input, $0.10 cache read, $1.25 cache write, $5 output a million tokens (linear).
    attributes = {
        "gen_ai.request.model": "claude-haiku-4-5",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.usage.input_tokens": 1000,  # cache reads and writes included, as the conventions say
        "gen_ai.usage.cache_read.input_tokens": 200,
        key: 300,
        "gen_ai.usage.output_tokens": 50,
    }
    canonical = run("chat claude-haiku-4-5", attributes)
    assert (canonical.cache_read_tokens, canonical.cache_write_tokens) == (200, 300)
    assert canonical.cost_usd == priced("claude-haiku-4-5", "anthropic", 1000, 200, 50, cache_write=300)
    assert canonical.cost_usd == Decimal("0.001145")  # 500 x 1 + 200 x 0.1 + 300 x 1.25 + 50 x 5, per million


def test_cache_writes_of_a_model_without_a_cache_write_price_cost_what_input_costs() -> None:
    attributes = {
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.cache_creation.input_tokens": 400,
        "gen_ai.usage.output_tokens": 0,
    }
    assert run("chat gpt-4o", attributes).cost_usd == priced("gpt-4o", None, 1000, 0, 0)


def test_cache_counts_past_the_input_are_priced_as_at_most_the_input() -> None:
    # A sender's counts that do not add up (cache reads 80 + writes 50 of 100 input) are stored as sent;
    # the price reads all the cache reads and what they leave of the input as writes.
    attributes = {
        "gen_ai.request.model": "claude-haiku-4-5",
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.cache_read.input_tokens": 80,
        "gen_ai.usage.cache_creation.input_tokens": 50,
        "gen_ai.usage.output_tokens": 0,
    }
    canonical = run("chat", attributes)
    assert (canonical.cache_read_tokens, canonical.cache_write_tokens) == (80, 50)
    assert canonical.cost_usd == priced("claude-haiku-4-5", None, 100, 80, 0, cache_write=20)


def test_aggregated_cache_writes_go_with_the_aggregated_usage() -> None:
    attributes = {
        "gen_ai.agent.name": "support_agent",
        "gen_ai.aggregated_usage.input_tokens": 500,
        "gen_ai.aggregated_usage.output_tokens": 20,
        "gen_ai.aggregated_usage.cache_creation.input_tokens": 100,
    }
    canonical = run("invoke_agent support_agent", attributes)
    assert (canonical.usage_aggregated, canonical.cache_write_tokens) == (True, 100)


@pytest.mark.parametrize(
    "details",
    [
        {"input": 500, "input_cache_creation": 300, "output": 50},  # Langfuse's own buckets
        {"input": 500, "input_cache_write": 300, "output": 50},
        {"input_tokens": 800, "cache_creation_input_tokens": 300, "output_tokens": 50},  # Anthropic's usage object
    ],
)
def test_langfuse_usage_details_cache_writes(details: dict[str, int]) -> None:
    attributes = {
        "langfuse.observation.type": "generation",
        "langfuse.observation.model.name": "claude-haiku-4-5",
        "langfuse.observation.usage_details": json.dumps(details),
    }
    assert run("generation", attributes).cache_write_tokens == 300


# --------------------------------------------------------------------------- Vercel AI SDK

# Shapes from vercel/ai at ai@6.0.264 (packages/ai/src/telemetry/get-base-telemetry-attributes.ts,
# generate-text/generate-text.ts, execute-tool-call.ts, embed/embed-many.ts, and the spans in
# generate-text/__snapshots__/*.snap), with experimental_telemetry { isEnabled: true,
# functionId: "weather-agent", metadata: { userId, sessionId } }. Usage keys of 6.0.119 on.
VERCEL_BASE = {
    "ai.telemetry.functionId": "weather-agent",
    "resource.name": "weather-agent",
    "ai.telemetry.metadata.userId": "user-42",
    "ai.telemetry.metadata.sessionId": "chat-7",
    "ai.model.id": "claude-haiku-4-5",
    "ai.model.provider": "anthropic.messages",
    "ai.settings.maxRetries": 2,
    "ai.request.headers.user-agent": "ai/6.0.264",
}
VERCEL_USAGE = {
    "ai.usage.inputTokens": 1000,
    "ai.usage.outputTokens": 50,
    "ai.usage.totalTokens": 1050,
    "ai.usage.inputTokenDetails.noCacheTokens": 500,
    "ai.usage.inputTokenDetails.cacheReadTokens": 200,
    "ai.usage.inputTokenDetails.cacheWriteTokens": 300,
    "ai.usage.cachedInputTokens": 200,
    "ai.usage.outputTokenDetails.textTokens": 50,
}
VERCEL_GENERATE_TEXT = {
    **VERCEL_BASE,
    "operation.name": "ai.generateText weather-agent",
    "ai.operationId": "ai.generateText",
    "ai.prompt": '{"system":"You answer briefly.","prompt":"What is the weather in Paris?"}',
    "ai.response.finishReason": "stop",
    "ai.response.text": "Sunny, 21 degrees.",
    "ai.response.providerMetadata": '{"anthropic":{"cacheCreationInputTokens":300}}',
    **VERCEL_USAGE,
}
VERCEL_DO_GENERATE = {
    **VERCEL_BASE,
    "operation.name": "ai.generateText.doGenerate weather-agent",
    "ai.operationId": "ai.generateText.doGenerate",
    "ai.prompt.messages": '[{"role":"system","content":"You answer briefly."},'
    '{"role":"user","content":[{"type":"text","text":"What is the weather in Paris?"}]}]',
    "ai.prompt.tools": ['{"type":"function","name":"weather","inputSchema":{"type":"object"}}'],
    "ai.prompt.toolChoice": '{"type":"auto"}',
    "gen_ai.system": "anthropic.messages",
    "gen_ai.request.model": "claude-haiku-4-5",
    "ai.response.finishReason": "tool-calls",
    "ai.response.toolCalls": '[{"toolCallId":"call-1","toolName":"weather","input":"{\\"city\\":\\"Paris\\"}"}]',
    "ai.response.id": "msg_01",
    "ai.response.model": "claude-haiku-4-5-20251001",
    "ai.response.timestamp": "2025-06-01T12:00:00.000Z",
    "gen_ai.response.finish_reasons": ["tool-calls"],
    "gen_ai.response.id": "msg_01",
    "gen_ai.response.model": "claude-haiku-4-5-20251001",
    "gen_ai.usage.input_tokens": 1000,
    "gen_ai.usage.output_tokens": 50,
    **VERCEL_USAGE,
}
VERCEL_TOOL_CALL = {
    "operation.name": "ai.toolCall weather-agent",
    "ai.operationId": "ai.toolCall",
    "resource.name": "weather-agent",
    "ai.telemetry.functionId": "weather-agent",
    "ai.toolCall.name": "weather",
    "ai.toolCall.id": "call-1",
    "ai.toolCall.args": '{"city":"Paris"}',
    "ai.toolCall.result": '"sunny"',
}


def test_vercel_generate_text_root_is_the_agent_named_by_its_function_id() -> None:
    canonical = run("ai.generateText", VERCEL_GENERATE_TEXT)
    assert columns(
        canonical, "node_type", "agent_name", "user_id", "session_id", "model", "provider", "input", "output"
    ) == {
        "node_type": "agent",
        "agent_name": "weather-agent",
        "user_id": "user-42",
        "session_id": "chat-7",
        "model": "claude-haiku-4-5",
        "provider": "anthropic.messages",
        "input": "What is the weather in Paris?",  # the prompt, not the JSON around it
        "output": "Sunny, 21 degrees.",
    }
    # The root's usage is the whole call's: an agent's usage counts only when no model call reports any.
    assert (canonical.input_tokens, canonical.cache_read_tokens, canonical.cache_write_tokens) == (1000, 200, 300)


def test_vercel_model_call_is_an_llm_node_priced_with_its_cache_tokens() -> None:
    assert columns(run("ai.generateText.doGenerate", VERCEL_DO_GENERATE)) == {
        "node_type": "llm",
        "agent_name": "weather-agent",
        "agent_id": None,
        "model": "claude-haiku-4-5-20251001",
        "provider": "anthropic.messages",
        "input_tokens": 1000,
        "output_tokens": 50,
        "cache_read_tokens": 200,
        "cache_write_tokens": 300,
        "reasoning_tokens": None,
        "total_tokens": 1050,
        "usage_aggregated": False,
        "cost_usd": priced("claude-haiku-4-5-20251001", "anthropic", 1000, 200, 50, cache_write=300),
        "cost_source": "computed",
        "input": VERCEL_DO_GENERATE["ai.prompt.messages"],
        "output": VERCEL_DO_GENERATE["ai.response.toolCalls"],  # no text: the step asked for a tool
        "user_id": "user-42",
        "session_id": "chat-7",
        "tool_name": None,
        **NO_ERROR,
    }


def test_vercel_tool_call_is_a_tool_node_with_its_arguments_and_result() -> None:
    canonical = run("ai.toolCall", VERCEL_TOOL_CALL)
    assert columns(canonical, "node_type", "tool_name", "input", "output", "agent_name", "input_tokens") == {
        "node_type": "tool",
        "tool_name": "weather",
        "input": '{"city":"Paris"}',
        "output": '"sunny"',
        "agent_name": "weather-agent",
        "input_tokens": None,
    }


def test_vercel_tool_call_that_failed_is_an_error() -> None:
    exception = {"exception.type": "Error", "exception.message": "weather service down"}
    failed = {k: v for k, v in VERCEL_TOOL_CALL.items() if k != "ai.toolCall.result"}
    canonical = run("ai.toolCall", failed, status_code=STATUS_ERROR, status_message="weather service down",
                    exception=exception)  # fmt: skip
    assert (canonical.node_type, canonical.error_type, canonical.error_message) == (
        "tool",
        "Error",
        "weather service down",
    )


@pytest.mark.parametrize(
    ("prompt", "text"),
    [
        ('{"prompt":"Hello"}', "Hello"),
        ('{"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"Hi there"}]}]}', "Hi there"),
        ('{"messages":[{"role":"assistant","content":"earlier"},{"role":"user","content":"Next?"}]}', "Next?"),
        ('{"prompt":[{"role":"user","content":[{"type":"text","text":"v6 list"}]}]}', "v6 list"),  # ai 6: a list
        ('{"system":"only a system prompt"}', '{"system":"only a system prompt"}'),  # no user text: as sent
    ],
)
def test_vercel_prompt_shapes_give_the_agent_its_input(prompt: str, text: str) -> None:
    attributes = {"ai.operationId": "ai.streamText", "ai.telemetry.functionId": "f", "ai.prompt": prompt}
    assert run("ai.streamText", attributes).input == text


@pytest.mark.parametrize(
    ("operation", "node_type"),
    [
        ("ai.generateText", "agent"),
        ("ai.streamText", "agent"),
        ("ai.generateObject", "agent"),
        ("ai.streamObject", "agent"),
        ("ai.generateText.doGenerate", "llm"),
        ("ai.streamText.doStream", "llm"),
        ("ai.generateObject.doGenerate", "llm"),
        ("ai.streamObject.doStream", "llm"),
        ("ai.embed", "chain"),
        ("ai.embedMany", "chain"),
        ("ai.embed.doEmbed", "embedding"),
        ("ai.embedMany.doEmbed", "embedding"),
        ("ai.toolCall", "tool"),
    ],
)
def test_vercel_operation_ids(operation: str, node_type: str) -> None:
    assert run(operation, {"ai.operationId": operation}).node_type == node_type


def test_vercel_v5_usage_keys() -> None:
    # ai 5 and 6 before 6.0.119: generateText and generateObject count prompt/completion tokens.
    attributes = {
        "ai.operationId": "ai.generateObject.doGenerate",
        "ai.model.id": "gpt-4o-mini",
        "ai.model.provider": "openai.chat",
        "ai.usage.promptTokens": 10,
        "ai.usage.completionTokens": 5,
        "ai.response.object": '{"city":"Paris"}',
    }
    canonical = run("ai.generateObject.doGenerate", attributes)
    assert columns(canonical, "input_tokens", "output_tokens", "total_tokens", "output", "model") == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
        "output": '{"city":"Paris"}',
        "model": "gpt-4o-mini",
    }
    assert canonical.cost_usd == priced("gpt-4o-mini", None, 10, 0, 5)


def test_vercel_embedding_call() -> None:
    attributes = {
        **VERCEL_BASE,
        "ai.operationId": "ai.embedMany.doEmbed",
        "ai.model.id": "text-embedding-3-small",
        "ai.model.provider": "openai.embedding",
        "ai.values": ["sunny day", "rainy day"],
        "ai.embeddings": ["[0.1,0.2]", "[0.3,0.4]"],
        "ai.usage.tokens": 8,
    }
    canonical = run("ai.embedMany.doEmbed", attributes)
    assert columns(canonical, "node_type", "input_tokens", "input", "model") == {
        "node_type": "embedding",
        "input_tokens": 8,
        "input": '["sunny day","rainy day"]',
        "model": "text-embedding-3-small",
    }
