"""A span's attributes -> agentlog's canonical columns, whatever the convention.

Pure: a dict of attributes in, a ``Canonical`` out. Which keys are read, and
in which order, is the table in ``conventions``; this module only applies it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import orjson

from agentlog.proto import conventions as c
from agentlog.proto.anyvalue import JSONValue, truncate
from agentlog.proto.conventions import BUILT_IN, Conventions
from agentlog.proto.pricing import price_usd

STATUS_ERROR = 2
INT64_MAX = 2**63 - 1
# Money is kept to the pico-dollar: exact for every per-token price on record.
USD_QUANTUM = Decimal("1e-12")
# A cost from 1e16 dollars on has more digits than a pico-dollar quantum keeps (28): no cost, just a bad value.
MAX_USD = Decimal("1e16")

Attributes = Mapping[str, JSONValue]


class Canonical(NamedTuple):
    """The canonical columns of one span (see the spans table for their meaning)."""

    node_type: str
    agent_name: str | None
    agent_id: str | None
    model: str | None
    provider: str | None
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    reasoning_tokens: int | None
    total_tokens: int | None
    usage_aggregated: bool
    cost_usd: Decimal | None
    cost_source: str | None
    input: str | None
    output: str | None
    user_id: str | None
    session_id: str | None
    tool_name: str | None
    error_type: str | None
    error_message: str | None
    # The attribute ``input`` / ``output`` is the string value of, when it is one
    # verbatim: the store then keeps the text once, in ``attributes``.
    input_key: str | None
    output_key: str | None


CANONICAL_COLUMNS: tuple[str, ...] = Canonical._fields


class Usage(NamedTuple):
    input: int | None  # cache reads and writes included
    output: int | None
    cache_read: int | None
    cache_write: int | None
    reasoning: int | None
    total: int | None
    aggregated: bool


def normalize(
    name: str,
    attributes: Attributes,
    status_code: int,
    status_message: str,
    exception: Attributes | None,
    start_time_unix_nano: int,
    max_length: int,
    conventions: Conventions = BUILT_IN,
) -> Canonical:
    """Canonical columns of one span. ``exception`` is its first exception event's attributes;
    ``conventions``: which keys fill which column (the built-in table, or an organisation's extension)."""
    k = conventions
    node_type = _node_type(name, attributes, k)
    model = _first_str(attributes, k.model)
    provider = _first_str(attributes, k.provider)
    usage = _storable(_usage(attributes, k))
    if name in c.AGGREGATED_USAGE_SPAN_NAMES and usage.total is not None:
        usage = usage._replace(aggregated=True)
    cost, source = _cost(attributes, usage, model, provider, start_time_unix_nano, k.cost_usd)
    error_type = error_message = None
    if status_code == STATUS_ERROR:
        error_type = _first_str(attributes, k.error_type) or _first_str(exception or {}, ("exception.type",))
        error_message = status_message or _first_str(exception or {}, ("exception.message",)) or error_type
    tool_name = _first_str(attributes, k.tool_name)
    if tool_name is None and node_type == "tool":
        tool_name = _first_str(attributes, ("traceloop.entity.name",)) or name
    input_text, input_key = _input(attributes, node_type, max_length, k.input)
    output_text, output_key = _text(attributes, k.output, max_length)
    if output_text is None:
        output_text = _flattened(attributes, c.FLATTENED_OUTPUT_PREFIX, max_length)
    return Canonical(
        node_type,
        _first_str(attributes, k.agent_name),
        _first_str(attributes, k.agent_id),
        model,
        provider,
        usage.input,
        usage.output,
        usage.cache_read,
        usage.cache_write,
        usage.reasoning,
        usage.total,
        usage.aggregated,
        cost,
        source,
        input_text,
        output_text,
        _first_str(attributes, k.user_id),
        _first_str(attributes, k.session_id),
        tool_name,
        error_type,
        error_message,
        input_key,
        output_key,
    )


def message_events(events: Sequence[tuple[str, Attributes]]) -> dict[str, JSONValue]:
    """What a span's (name, attributes) events lend to ``normalize``: ``{EVENT_INPUT: ..., EVENT_OUTPUT: ...}``,
    each from the first event of ``MESSAGE_EVENTS`` that has its key; pass ``{**attributes, **this}``."""
    lent: dict[str, JSONValue] = {}
    for name, attributes in events:
        for key, lent_as in c.MESSAGE_EVENTS.get(name, ()):
            if key in attributes and lent_as not in lent:
                lent[lent_as] = attributes[key]
    return lent


def pending_target(attributes: Attributes) -> str | None:
    """For a live-status marker: ``"self"`` (agentlog's) or ``"parent"`` (logfire's); else None."""
    if attributes.get(c.AGENTLOG_SPAN_TYPE) == "pending":
        return "self"
    if attributes.get(c.LOGFIRE_SPAN_TYPE) == "pending_span":
        return "parent"
    return None


def _node_type(name: str, attributes: Attributes, k: Conventions) -> str:
    for key, mapping in k.node_type_keys:
        value = attributes.get(key)
        if isinstance(value, str):
            found = mapping.get(value) or mapping.get(value.upper()) or mapping.get(value.lower())
            if found:
                return found
    if _first_str(attributes, k.tool_name):
        return "tool"
    if _first_str(attributes, k.model) and _first_int(attributes, k.input_tokens + k.output_tokens) is not None:
        return "llm"
    if name.startswith("invoke_agent") or name in ("agent run", "agent_run"):
        return "agent"
    return "span"


def _usage(attributes: Attributes, k: Conventions) -> Usage:
    input_tokens = _first_int(attributes, k.input_tokens)
    output_tokens = _first_int(attributes, k.output_tokens)
    cache_read = _first_int(attributes, k.cache_read_tokens)
    cache_write = _first_int(attributes, k.cache_write_tokens)
    reasoning = _first_int(attributes, k.reasoning_tokens)
    total = _first_int(attributes, k.total_tokens)
    aggregated = False
    if input_tokens is None and output_tokens is None:
        input_tokens = _first_int(attributes, c.AGGREGATED_INPUT_TOKENS)
        output_tokens = _first_int(attributes, c.AGGREGATED_OUTPUT_TOKENS)
        if input_tokens is not None or output_tokens is not None:
            aggregated = True
            cache_read = _first_int(attributes, c.AGGREGATED_CACHE_READ_TOKENS)
            cache_write = _first_int(attributes, c.AGGREGATED_CACHE_WRITE_TOKENS)
            reasoning = _first_int(attributes, c.AGGREGATED_REASONING_TOKENS)
    if input_tokens is None and output_tokens is None:
        langfuse = _langfuse_usage(attributes.get(c.LANGFUSE_USAGE))
        if langfuse is not None:
            return langfuse
    if total is None and (input_tokens is not None or output_tokens is not None):
        total = (input_tokens or 0) + (output_tokens or 0)
    return Usage(input_tokens, output_tokens, cache_read, cache_write, reasoning, total, aggregated)


def _storable(usage: Usage) -> Usage:
    """``usage`` with each count past INT64_MAX (a sum, or Langfuse's) as no count: no column holds it."""
    input_, output, cache_read, cache_write, reasoning, total = (
        None if (count or 0) > INT64_MAX else count for count in usage[:6]
    )
    return Usage(input_, output, cache_read, cache_write, reasoning, total, usage.aggregated)


def _langfuse_usage(value: JSONValue) -> Usage | None:
    details = _json_object(value)
    if not details:
        return None
    if "input" in details or "output" in details:
        return _langfuse_buckets(details)
    input_tokens = _first_int(details, c.OPENAI_USAGE_INPUT)
    output_tokens = _first_int(details, c.OPENAI_USAGE_OUTPUT)
    if input_tokens is None and output_tokens is None:
        return None
    total = _first_int(details, c.OPENAI_USAGE_TOTAL)
    if total is None:
        total = (input_tokens or 0) + (output_tokens or 0)
    cache_read = _nested_int(details, c.OPENAI_CACHE_READ)
    cache_write = _first_int(details, c.ANTHROPIC_USAGE_CACHE_WRITE)
    reasoning = _nested_int(details, c.OPENAI_REASONING)
    return Usage(input_tokens, output_tokens, cache_read, cache_write, reasoning, total, False)


def _langfuse_buckets(details: Mapping[str, JSONValue]) -> Usage | None:
    """Langfuse's disjoint usage types -> inclusive input/output as GenAI semconv counts them."""
    if _first_int(details, ("input", "output")) is None:
        return None
    input_tokens = _sum_buckets(details, "input")
    output_tokens = _sum_buckets(details, "output")
    total = _first_int(details, ("total",))
    if total is None:
        total = input_tokens + output_tokens
    cache_read = _first_int(details, c.LANGFUSE_CACHE_READ_BUCKETS)
    cache_write = _first_int(details, c.LANGFUSE_CACHE_WRITE_BUCKETS)
    reasoning = _first_int(details, c.LANGFUSE_REASONING_BUCKETS)
    return Usage(input_tokens, output_tokens, cache_read, cache_write, reasoning, total, False)


def _sum_buckets(details: Mapping[str, JSONValue], direction: str) -> int:
    prefix = direction + "_"
    return sum(
        count
        for key in details
        if key == direction or key.startswith(prefix)
        for count in (_first_int(details, (key,)),)
        if count is not None
    )


def _nested_int(details: Mapping[str, JSONValue], paths: Sequence[tuple[str, str]]) -> int | None:
    for outer, inner in paths:
        nested = details.get(outer)
        if isinstance(nested, dict):
            value = _first_int(nested, (inner,))
            if value is not None:
                return value
    return None


def _cost(
    attributes: Attributes, usage: Usage, model: str | None, provider: str | None, start: int, keys: Sequence[str]
) -> tuple[Decimal | None, str | None]:
    reported = _reported_cost(attributes, keys)
    if reported is not None:
        return reported.quantize(USD_QUANTUM), "reported"
    if usage.input is None and usage.output is None:
        return None, None
    if usage.aggregated or model is None:
        return None, "unknown"
    computed = price_usd(
        model, provider, usage.input or 0, usage.cache_read or 0, usage.cache_write or 0, usage.output or 0, start
    )
    return (computed.quantize(USD_QUANTUM), "computed") if computed is not None else (None, "unknown")


def _reported_cost(attributes: Attributes, keys: Sequence[str] = c.REPORTED_COST) -> Decimal | None:
    for key in keys:
        value = _decimal(attributes.get(key))
        if value is not None:
            return value
    details = _json_object(attributes.get(c.LANGFUSE_COST))
    if details:
        total = _decimal(details.get("total"))
        if total is not None:
            return total
        parts = [_decimal(v) for v in details.values()]
        if parts and all(part is not None for part in parts):
            total = sum((part for part in parts if part is not None), Decimal(0))
            return total if total < MAX_USD else None  # as _decimal: past what money keeps, no cost
    return None


def _decimal(value: JSONValue) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        try:
            result = Decimal(str(value))  # str(): the float's shortest repr, not its binary expansion
        except InvalidOperation:
            return None
        return result if result.is_finite() and 0 <= result < MAX_USD else None
    return None


def _json_object(value: JSONValue) -> Mapping[str, JSONValue] | None:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return value if isinstance(value, dict) else None


def _first_str(attributes: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _first_int(attributes: Mapping[str, Any], keys: Sequence[str]) -> int | None:
    """The first value among ``keys`` that is a whole number from 0 to INT64_MAX (int, float or decimal
    string); a larger one is not a count any column can hold, and the next key is tried."""
    for key in keys:
        value = attributes.get(key)
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, int) and 0 <= value <= INT64_MAX:
            return value
        if isinstance(value, float) and value.is_integer() and 0 <= value < 2.0**63:
            return int(value)
        if isinstance(value, str) and value.isascii() and value.isdecimal() and int(value) <= INT64_MAX:
            return int(value)
    return None


def _flattened(attributes: Attributes, prefix: str, max_length: int) -> str | None:
    """OpenLLMetry's ``gen_ai.prompt.0.role`` / ``.content`` ... as a JSON list of messages."""
    messages: dict[int, dict[str, JSONValue]] = {}
    for key, value in attributes.items():
        if not key.startswith(prefix):
            continue
        index, _, field = key[len(prefix) :].partition(".")
        if index.isdecimal() and field:
            messages.setdefault(int(index), {})[field] = value
    if not messages:
        return None
    ordered = [messages[index] for index in sorted(messages)]
    return truncate(orjson.dumps(ordered).decode(), max_length)


def _input(
    attributes: Attributes, node_type: str, max_length: int, keys: Sequence[str] = c.INPUT
) -> tuple[str | None, str | None]:
    """The span's input and its key (see ``_text``); for an agent, the prompt rather than a transcript."""
    if node_type == "agent":
        key = next((key for key in c.AGENT_PROMPTS if key in attributes), None)
        prompt = _prompt(attributes[key], 0) if key is not None else None
        if prompt is not None:
            return truncate(prompt, max_length), None
    text, key = _text(attributes, keys, max_length)
    if text is not None:
        return text, key
    flattened = _flattened(attributes, c.FLATTENED_INPUT_PREFIX, max_length)
    if flattened is not None:
        return flattened, None
    start = _first_int(attributes, c.TRANSCRIPT_START) or 0
    for transcript in c.TRANSCRIPTS:
        prompt = _prompt(attributes.get(transcript), start)
        if prompt is not None:
            return truncate(prompt, max_length), None
    return None, None


def _prompt(messages: JSONValue, start: int) -> str | None:
    """The text of the first user message from ``start`` on (else from the first) in chat messages or their JSON.

    A message is GenAI's ``{"role": "user", "parts": [{"type": "text", "content": ...}]}``
    (its text parts, joined by newlines) or ``{"role": "user", "content": ...}``, whose
    content may be a list of parts ``{"type": "text", "text": ...}`` (the Vercel AI SDK's).
    User messages without text (tool results, before GenAI gave those a role) are passed
    over. The Vercel AI SDK's prompt object ``{"system", "prompt", "messages"}`` gives its
    ``prompt`` string, else the first user message of its ``prompt`` or ``messages`` list.
    None when there is no such message, or ``messages`` is not a list of them.
    """
    if isinstance(messages, str):
        try:
            messages = orjson.loads(messages)
        except orjson.JSONDecodeError:
            return None  # not JSON (or cut short by the attribute length limit)
    if isinstance(messages, dict):
        prompt = messages.get("prompt")
        if isinstance(prompt, str):
            return prompt or None
        messages = prompt if isinstance(prompt, list) else messages.get("messages")
    if not isinstance(messages, list):
        return None
    for first in (start, 0) if start > 0 else (0,):  # a run resumed without a new prompt: the conversation's
        for message in messages[first:]:
            if isinstance(message, dict) and message.get("role") == "user":
                text = _message_text(message)
                if text:
                    return text
    return None


def _message_text(message: Mapping[str, JSONValue]) -> str | None:
    parts = message.get("parts")
    pieces = parts if isinstance(parts, list) else message.get("content")
    if isinstance(pieces, str):
        return pieces
    if not isinstance(pieces, list):
        return None
    texts: list[str] = []
    for piece in pieces:
        if isinstance(piece, str) and parts is None:
            texts.append(piece)  # {"content": ["text", ...]}
        elif isinstance(piece, dict) and piece.get("type") == "text":
            text = piece.get("content") if parts is not None else piece.get("text", piece.get("content"))
            if isinstance(text, str):
                texts.append(text)
    return "\n".join(texts) if texts else None


def _text(attributes: Attributes, keys: Sequence[str], max_length: int) -> tuple[str | None, str | None]:
    """The first non-empty value of ``keys`` as text, and its key when the text is the value itself."""
    for key in keys:
        value = attributes.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, str):
            return value, (None if key in c.EVENT_KEYS else key)  # an event's text is not in the attributes
        return truncate(orjson.dumps(value).decode(), max_length), None
    return None, None
