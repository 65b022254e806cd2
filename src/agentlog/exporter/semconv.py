"""The attribute keys agentlog writes, and how a node type becomes a convention's value.

Standard keys first: the OpenTelemetry GenAI semantic conventions, then
OpenInference where GenAI has no key (free-form input/output, cost, metadata,
the node kinds GenAI has no operation for), and ``agentlog.*`` only for the
live-status marker, which no convention has. Every key here is one
``agentlog.proto.conventions`` reads (tests/exporter/test_semconv.py checks),
so agentlog's collector and any other OTel backend understand the spans.

The keys are spelled out here rather than imported from ``agentlog.proto``:
importing that package loads the price tables, which an agent that only
exports spans should not pay for at start-up.
"""

from __future__ import annotations

# GenAI semantic conventions
OPERATION_NAME = "gen_ai.operation.name"
AGENT_NAME = "gen_ai.agent.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
PROVIDER_NAME = "gen_ai.provider.name"
CONVERSATION_ID = "gen_ai.conversation.id"
TOOL_NAME = "gen_ai.tool.name"
INPUT_TOKENS = "gen_ai.usage.input_tokens"  # includes cache reads, as GenAI semconv counts them
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
CACHE_WRITE_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
REASONING_TOKENS = "gen_ai.usage.reasoning.output_tokens"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
TOOL_ARGUMENTS = "gen_ai.tool.call.arguments"
TOOL_RESULT = "gen_ai.tool.call.result"
USER_ID = "user.id"
ERROR_TYPE = "error.type"

# OpenInference, where GenAI semconv has no key
INPUT_VALUE = "input.value"
INPUT_MIME_TYPE = "input.mime_type"
OUTPUT_VALUE = "output.value"
OUTPUT_MIME_TYPE = "output.mime_type"
COST_USD = "llm.cost.total"
METADATA = "metadata"
SPAN_KIND = "openinference.span.kind"

# agentlog's own: the live-status marker (proto/conventions.py reads it)
SPAN_TYPE = "agentlog.span_type"
PENDING = "pending"

JSON_MIME_TYPE = "application/json"
TEXT_MIME_TYPE = "text/plain"

NODE_TYPES = (
    "agent", "llm", "tool", "retriever", "embedding", "chain",
    "reranker", "guardrail", "evaluator", "prompt", "span",
)  # fmt: skip
"""agentlog's canonical node types (the same list as ``agentlog.proto.conventions.NODE_TYPES``)."""

# node type -> (key, value) that says it, GenAI operation names where they exist
TYPE_ATTRIBUTE: dict[str, tuple[str, str]] = {
    "agent": (OPERATION_NAME, "invoke_agent"),
    "llm": (OPERATION_NAME, "chat"),
    "tool": (OPERATION_NAME, "execute_tool"),
    "retriever": (OPERATION_NAME, "retrieval"),
    "embedding": (OPERATION_NAME, "embeddings"),
    "chain": (OPERATION_NAME, "invoke_workflow"),
    "reranker": (SPAN_KIND, "RERANKER"),
    "guardrail": (SPAN_KIND, "GUARDRAIL"),
    "evaluator": (SPAN_KIND, "EVALUATOR"),
    "prompt": (SPAN_KIND, "PROMPT"),
}

WRITTEN_KEYS = frozenset(
    {
        OPERATION_NAME, AGENT_NAME, REQUEST_MODEL, RESPONSE_MODEL, PROVIDER_NAME, CONVERSATION_ID, TOOL_NAME,
        INPUT_TOKENS, OUTPUT_TOKENS, CACHE_READ_TOKENS, REASONING_TOKENS, INPUT_MESSAGES, OUTPUT_MESSAGES,
        TOOL_ARGUMENTS, TOOL_RESULT, USER_ID, ERROR_TYPE, INPUT_VALUE, OUTPUT_VALUE, COST_USD, SPAN_KIND, SPAN_TYPE,
    }
)  # fmt: skip
"""The keys whose meaning agentlog's normaliser must know (mime types and metadata are informational)."""
