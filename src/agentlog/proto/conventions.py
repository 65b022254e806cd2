"""Which attribute keys mean what, in which order: the one precedence table.

Instrumentations disagree on names for the same thing. For every canonical column the keys below are tried in order and
the first present value wins. The order is: the OpenTelemetry GenAI semantic
conventions (current, then deprecated names), OpenInference, OpenLLMetry
(``traceloop.*``), Langfuse, then Logfire / pydantic-ai specifics, then the
Vercel AI SDK (``ai.*``, with ``experimental_telemetry`` on).

=================  ===========================================================
column             keys, first match wins
=================  ===========================================================
node_type          gen_ai.operation.name, openinference.span.kind,
                   traceloop.span.kind, langfuse.observation.type,
                   ai.operationId (values mapped by the tables below); then shape: a model
                   and token usage -> llm, a tool name -> tool, an agent name
                   on a span named "invoke_agent ..."/"agent run" -> agent
agent_name         see AGENT_NAME
model              see MODEL
tokens             see INPUT_TOKENS ... TOTAL_TOKENS; input counts include
                   cache reads and writes; AGGREGATED_* mark usage that sums
                   the children (never added to run totals); usage on agent
                   and chain spans counts only when no other span of the run
                   reports any (FALLBACK_USAGE_NODE_TYPES)
cost (USD)         see REPORTED_COST; else priced from model and tokens
                   (uncached input, cache reads, cache writes, output)
input / output     see INPUT / OUTPUT; an agent span's AGENT_PROMPTS and
                   pydantic-ai's TRANSCRIPTS give its first user message's text
user / session     see USER_ID / SESSION_ID
tool name          see TOOL_NAME; an OpenLLMetry/Langfuse tool span's own name
error              status ERROR; ERROR_TYPE, exception event, status message
=================  ===========================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

NODE_TYPES = (
    "agent", "llm", "tool", "retriever", "embedding", "chain",
    "reranker", "guardrail", "evaluator", "prompt", "span",
)  # fmt: skip

# gen_ai.operation.name (GenAI semconv)
GENAI_OPERATION = {
    "chat": "llm",
    "text_completion": "llm",
    "generate_content": "llm",
    "completion": "llm",
    "embeddings": "embedding",
    "retrieval": "retriever",
    "execute_tool": "tool",
    "invoke_agent": "agent",
    "create_agent": "agent",
    "invoke_workflow": "chain",
}

# openinference.span.kind
OPENINFERENCE_KIND = {
    "LLM": "llm",
    "CHAIN": "chain",
    "TOOL": "tool",
    "AGENT": "agent",
    "RETRIEVER": "retriever",
    "EMBEDDING": "embedding",
    "RERANKER": "reranker",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "evaluator",
    "PROMPT": "prompt",
}

# traceloop.span.kind (OpenLLMetry); its LLM spans carry llm.request.type instead.
TRACELOOP_KIND = {"workflow": "chain", "task": "chain", "agent": "agent", "tool": "tool"}
TRACELOOP_REQUEST_TYPE = {"chat": "llm", "completion": "llm", "embedding": "embedding", "rerank": "reranker"}

# ai.operationId (the Vercel AI SDK): a call's root span, its model calls, its tool calls.
# Generating roots run the SDK's tool loop (an agent); embedding roots only wrap their model calls.
VERCEL_OPERATION = {
    "ai.generateText": "agent",
    "ai.streamText": "agent",
    "ai.generateObject": "agent",
    "ai.streamObject": "agent",
    "ai.generateText.doGenerate": "llm",
    "ai.streamText.doStream": "llm",
    "ai.generateObject.doGenerate": "llm",
    "ai.streamObject.doStream": "llm",
    "ai.embed": "chain",
    "ai.embedMany": "chain",
    "ai.embed.doEmbed": "embedding",
    "ai.embedMany.doEmbed": "embedding",
    "ai.rerank": "chain",
    "ai.rerank.doRerank": "reranker",
    "ai.toolCall": "tool",
}

# langfuse.observation.type
LANGFUSE_TYPE = {
    "generation": "llm",
    "agent": "agent",
    "tool": "tool",
    "chain": "chain",
    "retriever": "retriever",
    "embedding": "embedding",
    "evaluator": "evaluator",
    "guardrail": "guardrail",
    "span": "span",
    "event": "span",
}

NODE_TYPE_KEYS = (
    ("gen_ai.operation.name", GENAI_OPERATION),
    ("openinference.span.kind", OPENINFERENCE_KIND),
    ("traceloop.span.kind", TRACELOOP_KIND),
    ("llm.request.type", TRACELOOP_REQUEST_TYPE),
    ("langfuse.observation.type", LANGFUSE_TYPE),
    ("ai.operationId", VERCEL_OPERATION),
)

AGENT_NAME = (
    "gen_ai.agent.name",
    "agent.name",
    "agent_name",
    "traceloop.workflow.name",
    "langfuse.trace.name",
    "ai.telemetry.functionId",  # the name the developer gives a Vercel AI SDK call
)
AGENT_ID = ("gen_ai.agent.id", "agent.id")
MODEL = (
    "gen_ai.response.model",
    "gen_ai.request.model",
    "llm.model_name",
    "embedding.model_name",
    "reranker.model_name",
    "langfuse.observation.model.name",
    "llm.response.model",
    "llm.request.model",
    "ai.response.model",
    "ai.model.id",
)
PROVIDER = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system", "ai.model.provider")

INPUT_TOKENS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "llm.usage.prompt_tokens",
    "ai.usage.inputTokens",  # Vercel AI SDK 5, streamText / streamObject; 6 from 6.0.119
    "ai.usage.promptTokens",  # Vercel AI SDK generateText before 6.0.119, generateObject
    "ai.usage.tokens",  # Vercel AI SDK embeddings
)
OUTPUT_TOKENS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "llm.usage.completion_tokens",
    "ai.usage.outputTokens",
    "ai.usage.completionTokens",
)
CACHE_READ_TOKENS = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "gen_ai.usage.details.cache_read_tokens",  # pydantic-ai passes provider details through
    "llm.token_count.prompt_details.cache_read",
    "ai.usage.inputTokenDetails.cacheReadTokens",
    "ai.usage.cachedInputTokens",
)
# Tokens written to a provider's prompt cache (priced apart: Anthropic charges 1.25x input for them).
CACHE_WRITE_TOKENS = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",  # OpenLLMetry before semconv-ai 0.5
    "gen_ai.usage.details.cache_write_tokens",  # pydantic-ai passes provider details through
    "gen_ai.usage.details.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
    "ai.usage.inputTokenDetails.cacheWriteTokens",
)
REASONING_TOKENS = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_tokens",
    "gen_ai.usage.details.reasoning_tokens",
    "llm.token_count.completion_details.reasoning",
    "ai.usage.outputTokenDetails.reasoningTokens",
    "ai.usage.reasoningTokens",
)
TOTAL_TOKENS = ("gen_ai.usage.total_tokens", "llm.token_count.total", "llm.usage.total_tokens", "ai.usage.totalTokens")

# pydantic-ai puts a run's cumulative usage on its agent span under this prefix.
AGGREGATED_INPUT_TOKENS = ("gen_ai.aggregated_usage.input_tokens",)
AGGREGATED_OUTPUT_TOKENS = ("gen_ai.aggregated_usage.output_tokens",)
AGGREGATED_CACHE_READ_TOKENS = (
    "gen_ai.aggregated_usage.cache_read.input_tokens",
    "gen_ai.aggregated_usage.details.cache_read_tokens",
)
AGGREGATED_CACHE_WRITE_TOKENS = (
    "gen_ai.aggregated_usage.cache_creation.input_tokens",
    "gen_ai.aggregated_usage.details.cache_write_tokens",
)
AGGREGATED_REASONING_TOKENS = (
    "gen_ai.aggregated_usage.reasoning.output_tokens",
    "gen_ai.aggregated_usage.details.reasoning_tokens",
)
# pydantic-ai before gen_ai.aggregated_usage put the run's cumulative usage on
# its "agent run" span under plain gen_ai.usage.* keys.
AGGREGATED_USAGE_SPAN_NAMES = frozenset({"agent run"})
# Usage on agent and chain spans is often their children's sum (GenAI semconv's
# invoke_agent of a remote agent is the exception): a run counts it only when
# none of its other spans reports usage (see store/queries/fold_runs.sql).
FALLBACK_USAGE_NODE_TYPES = ("agent", "chain")

# Langfuse keeps usage and cost as JSON objects. Its own usage types ("input",
# "output", "input_cache_read", "output_reasoning", ...) are disjoint buckets that
# sum to the total; its OpenAI integration passes OpenAI's usage object through
# (prompt_tokens includes cached ones, details nested).
LANGFUSE_USAGE = "langfuse.observation.usage_details"
LANGFUSE_CACHE_READ_BUCKETS = ("input_cache_read", "input_cached_tokens", "cache_read_input_tokens")
LANGFUSE_CACHE_WRITE_BUCKETS = ("input_cache_write", "input_cache_creation", "cache_creation_input_tokens")
LANGFUSE_REASONING_BUCKETS = ("output_reasoning", "output_reasoning_tokens")
OPENAI_USAGE_INPUT = ("prompt_tokens", "input_tokens")
OPENAI_USAGE_OUTPUT = ("completion_tokens", "output_tokens")
OPENAI_USAGE_TOTAL = ("total_tokens", "total")
OPENAI_CACHE_READ = (("prompt_tokens_details", "cached_tokens"), ("input_tokens_details", "cached_tokens"),
                     ("input_token_details", "cache_read"))  # fmt: skip
# An Anthropic usage object passed through whole counts cache writes at its top level.
ANTHROPIC_USAGE_CACHE_WRITE = ("cache_creation_input_tokens",)
OPENAI_REASONING = (("completion_tokens_details", "reasoning_tokens"), ("output_tokens_details", "reasoning_tokens"),
                    ("output_token_details", "reasoning"))  # fmt: skip
LANGFUSE_COST = "langfuse.observation.cost_details"

REPORTED_COST = ("gen_ai.usage.cost", "llm.cost.total", "operation.cost")

# OpenLLMetry flattens messages: gen_ai.prompt.0.role, gen_ai.prompt.0.content, ...
FLATTENED_INPUT_PREFIX = "gen_ai.prompt."
FLATTENED_OUTPUT_PREFIX = "gen_ai.completion."

# Chat messages sent as span events rather than attributes: GenAI's
# gen_ai.client.inference.operation.details (semantic conventions 1.37 on) and the older
# gen_ai.content.prompt / .completion. The first such event of a span that has the key
# lends its value to the span under EVENT_INPUT / EVENT_OUTPUT, read last of all keys
# below (a span's own attributes win). These two keys are never stored.
EVENT_INPUT = "agentlog.event.input_messages"
EVENT_OUTPUT = "agentlog.event.output_messages"
MESSAGE_EVENTS = {
    "gen_ai.client.inference.operation.details": (
        ("gen_ai.input.messages", EVENT_INPUT),
        ("gen_ai.output.messages", EVENT_OUTPUT),
    ),
    "gen_ai.content.prompt": (("gen_ai.prompt", EVENT_INPUT),),
    "gen_ai.content.completion": (("gen_ai.completion", EVENT_OUTPUT),),
}
EVENT_KEYS = (EVENT_INPUT, EVENT_OUTPUT)

INPUT = (
    "gen_ai.input.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.prompt",
    "input.value",
    "traceloop.entity.input",
    "langfuse.observation.input",
    "tool_arguments",
    "ai.toolCall.args",  # Vercel AI SDK: a tool call's arguments (JSON text)
    "ai.prompt.messages",  # Vercel AI SDK: a model call's messages
    "ai.prompt",  # Vercel AI SDK: a call's prompt ({"system", "prompt", "messages"} as JSON text)
    "ai.value",  # Vercel AI SDK: what embed embeds
    "ai.values",
    EVENT_INPUT,
)
OUTPUT = (
    "gen_ai.output.messages",
    "gen_ai.tool.call.result",
    "gen_ai.completion",
    "output.value",
    "traceloop.entity.output",
    "langfuse.observation.output",
    "final_result",
    "tool_response",
    "ai.toolCall.result",  # Vercel AI SDK (JSON text)
    "ai.response.text",
    "ai.response.object",  # generateObject / streamObject
    "ai.response.toolCalls",  # a step that answered with tool calls only
    EVENT_OUTPUT,
)

# A run's prompt when no key above has one, or when an agent span's input is a
# list of chat messages: the text of its first user message. pydantic-ai keeps
# the prompt only in the whole conversation on its agent run span:
# pydantic_ai.all_messages, a JSON list of GenAI messages ({"role": "user",
# "parts": [{"type": "text", "content": ...}]}, formats 2-6), from
# pydantic_ai.new_message_index on this run's own; earlier releases,
# all_messages_events ({"role": "user", "content": ...}).
# The Vercel AI SDK keeps a call's prompt as {"system", "prompt", "messages"}: the
# prompt string, or the first user message of its messages (parts {"type": "text",
# "text": ...}). The first of these keys a span has is read.
GENAI_INPUT_MESSAGES = "gen_ai.input.messages"
AGENT_PROMPTS = (GENAI_INPUT_MESSAGES, "ai.prompt", EVENT_INPUT)
TRANSCRIPTS = ("pydantic_ai.all_messages", "all_messages_events")
TRANSCRIPT_START = ("pydantic_ai.new_message_index",)

USER_ID = (
    "user.id",
    "enduser.id",
    "traceloop.association.properties.user_id",
    "langfuse.user.id",
    "ai.telemetry.metadata.userId",  # Vercel AI SDK: the developer's metadata, as Langfuse reads it
)
SESSION_ID = (
    "gen_ai.conversation.id",
    "session.id",
    "traceloop.association.properties.session_id",
    "langfuse.session.id",
    "ai.telemetry.metadata.sessionId",
)
TOOL_NAME = ("gen_ai.tool.name", "tool.name", "gen_ai_tool_name", "ai.toolCall.name")
ERROR_TYPE = ("error.type", "exception.type")

# Live status markers: a span that stands for another span still running.
AGENTLOG_SPAN_TYPE = "agentlog.span_type"  # "pending": same ids as the span it announces
LOGFIRE_SPAN_TYPE = "logfire.span_type"  # "pending_span": child of the span it announces
LOGFIRE_PENDING_PARENT = "logfire.pending_parent_id"


@dataclass(frozen=True, eq=False)
class Conventions:
    """The key lists an organisation can extend (``agentlog serve --conventions FILE``): the table
    above, each list with the organisation's keys first (proto/conventions_file.py reads the file).

    Field names are the canonical columns the keys fill. ``normalize`` and ``canonical_table`` take
    one; both read the module constants above through ``BUILT_IN`` when given none. Compared by
    identity: a process builds each once, and the columnar decoder caches its lookup tables per object.
    """

    node_type_keys: tuple[tuple[str, Mapping[str, str]], ...]
    agent_name: tuple[str, ...]
    agent_id: tuple[str, ...]
    model: tuple[str, ...]
    provider: tuple[str, ...]
    user_id: tuple[str, ...]
    session_id: tuple[str, ...]
    tool_name: tuple[str, ...]
    error_type: tuple[str, ...]
    input_tokens: tuple[str, ...]
    output_tokens: tuple[str, ...]
    cache_read_tokens: tuple[str, ...]
    cache_write_tokens: tuple[str, ...]
    reasoning_tokens: tuple[str, ...]
    total_tokens: tuple[str, ...]
    cost_usd: tuple[str, ...]
    input: tuple[str, ...]
    output: tuple[str, ...]
    source: str = "built-in"
    """Where the organisation's keys came from (a file's path), for messages."""


# What each extensible column reads its keys' values as: "string" (a non-empty string), "count" (a whole
# number >= 0: an integer, a double or a decimal string), "text" (any value, JSON unless a string),
# "cost" (a number >= 0 in USD, or its decimal string).
COLUMN_KINDS = {
    "agent_name": "string", "agent_id": "string", "model": "string", "provider": "string",
    "user_id": "string", "session_id": "string", "tool_name": "string", "error_type": "string",
    "input_tokens": "count", "output_tokens": "count", "cache_read_tokens": "count",
    "cache_write_tokens": "count", "reasoning_tokens": "count", "total_tokens": "count",
    "cost_usd": "cost", "input": "text", "output": "text",
}  # fmt: skip

BUILT_IN = Conventions(
    node_type_keys=NODE_TYPE_KEYS,
    agent_name=AGENT_NAME,
    agent_id=AGENT_ID,
    model=MODEL,
    provider=PROVIDER,
    user_id=USER_ID,
    session_id=SESSION_ID,
    tool_name=TOOL_NAME,
    error_type=ERROR_TYPE,
    input_tokens=INPUT_TOKENS,
    output_tokens=OUTPUT_TOKENS,
    cache_read_tokens=CACHE_READ_TOKENS,
    cache_write_tokens=CACHE_WRITE_TOKENS,
    reasoning_tokens=REASONING_TOKENS,
    total_tokens=TOTAL_TOKENS,
    cost_usd=REPORTED_COST,
    input=INPUT,
    output=OUTPUT,
)
"""The table above, as it ships."""
