"""A node's facts as span attributes: which key each one goes under, and values as text.

OpenTelemetry attributes hold strings, numbers, booleans and lists of them;
anything else an agent hands us (dicts, messages, pydantic models) becomes
JSON text. Nothing here raises on a value it cannot serialise: the agent's
data is recorded as well as it can be, never at the cost of the agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Literal

import orjson

from agentlog.exporter import semconv as k

NodeType = Literal[
    "agent", "llm", "tool", "retriever", "embedding", "chain", "reranker", "guardrail", "evaluator", "prompt", "span"
]
AttributeValue = str | bool | int | float
Attributes = dict[str, AttributeValue]

_TYPE_OF_VALUE = {value: node_type for node_type, (_, value) in k.TYPE_ATTRIBUTE.items()}


def check_node_type(node_type: str) -> str:
    """``node_type`` if agentlog knows it; ValueError listing the known ones otherwise."""
    if node_type not in k.NODE_TYPES:
        raise ValueError(f"unknown node type {node_type!r}; use one of {', '.join(k.NODE_TYPES)}")
    return node_type


def start_attributes(
    node_type: str,
    name: str,
    *,
    model: str | None = None,
    provider: str | None = None,
    input: Any = None,
    user_id: str | None = None,
    session_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    extra: Mapping[str, AttributeValue] | None = None,
) -> Attributes:
    """The attributes a node is started with (and that its live-status marker carries). A new dict."""
    attributes = dict(_identity_attributes(node_type, name, model, provider))
    if user_id:
        attributes[k.USER_ID] = user_id
    if session_id:
        attributes[k.CONVERSATION_ID] = session_id
    if metadata:
        attributes[k.METADATA] = to_text(metadata)[0]
    if input is not None:
        attributes.update(input_attributes(node_type, input))
    if extra:
        attributes.update(extra)
    return attributes


@lru_cache(maxsize=4096)  # an agent has a few kinds of node, started over and over
def _identity_attributes(node_type: str, name: str, model: str | None, provider: str | None) -> Attributes:
    """What a node is: its type, its name where GenAI has a key for it, its model. Shared: never mutate."""
    attributes: Attributes = {}
    said = k.TYPE_ATTRIBUTE.get(node_type)
    if said is not None:
        attributes[said[0]] = said[1]
    attributes.update(name_attributes(node_type, name))
    if model:
        attributes[k.REQUEST_MODEL] = model
    if provider:
        attributes[k.PROVIDER_NAME] = provider
    return attributes


def name_attributes(node_type: str, name: str) -> Attributes:
    """An agent's or a tool's name under its GenAI key; other nodes are named by their span alone."""
    if node_type == "agent":
        return {k.AGENT_NAME: name}
    if node_type == "tool":
        return {k.TOOL_NAME: name}
    return {}


def input_attributes(node_type: str, value: Any) -> Attributes:
    """Tool arguments, chat messages, or free-form input, each under its convention's key."""
    if node_type == "tool":
        return {k.TOOL_ARGUMENTS: to_text(value)[0]}
    if is_messages(value):
        return {k.INPUT_MESSAGES: to_text(value)[0]}
    text, mime_type = to_text(value)
    return {k.INPUT_VALUE: text, k.INPUT_MIME_TYPE: mime_type}


def output_attributes(node_type: str, value: Any) -> Attributes:
    """A tool's result, chat messages, or free-form output, each under its convention's key."""
    if node_type == "tool":
        return {k.TOOL_RESULT: to_text(value)[0]}
    if is_messages(value):
        return {k.OUTPUT_MESSAGES: to_text(value)[0]}
    text, mime_type = to_text(value)
    return {k.OUTPUT_VALUE: text, k.OUTPUT_MIME_TYPE: mime_type}


def usage_attributes(
    current: Mapping[str, Any],
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_tokens: int | None,
    cache_write_tokens: int | None,
    reasoning_tokens: int | None,
    cost_usd: float | Decimal | str | None,
) -> Attributes:
    """Usage added to what the span already says: a node that calls a model twice reports both."""
    updated: Attributes = {}
    _add_tokens(updated, current, k.INPUT_TOKENS, input_tokens)
    _add_tokens(updated, current, k.OUTPUT_TOKENS, output_tokens)
    _add_tokens(updated, current, k.CACHE_READ_TOKENS, cache_read_tokens)
    _add_tokens(updated, current, k.CACHE_WRITE_TOKENS, cache_write_tokens)
    _add_tokens(updated, current, k.REASONING_TOKENS, reasoning_tokens)
    if cost_usd is not None:
        # Summed as decimals, so that 0.1 + 0.2 is stored as 0.3, as the money it is.
        total = _decimal(current.get(k.COST_USD)) + _decimal(cost_usd)
        updated[k.COST_USD] = float(total)
    return updated


def node_type_of(attributes: Mapping[str, Any] | None) -> str:
    """The node type a span's attributes say (``span`` when they say none agentlog writes)."""
    if not attributes:
        return "span"
    for key in (k.OPERATION_NAME, k.SPAN_KIND):
        found = _TYPE_OF_VALUE.get(attributes.get(key))  # type: ignore[arg-type]
        if found is not None:
            return found
    return "span"


def error_type(error: BaseException) -> str:
    """``error.type`` as semconv wants it: the class's qualified name, module-qualified unless builtin."""
    cls = type(error)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"


def is_messages(value: Any) -> bool:
    """A chat transcript: a non-empty list of mappings that each have a role."""
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(item, Mapping) and "role" in item for item in value)
    )


def to_text(value: Any) -> tuple[str, str]:
    """``value`` as attribute text and its mime type: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value, k.TEXT_MIME_TYPE
    try:
        text = orjson.dumps(value, default=_jsonable, option=orjson.OPT_NON_STR_KEYS).decode()
    except (TypeError, orjson.JSONEncodeError):
        return _safe_repr(value), k.TEXT_MIME_TYPE
    if text.startswith('"'):  # an object that is best shown as text (its repr, a Decimal): the text itself
        return orjson.loads(text), k.TEXT_MIME_TYPE
    return text, k.JSON_MIME_TYPE


def _jsonable(value: Any) -> Any:
    """What orjson cannot serialise by itself: pydantic models as their dump, the rest as text."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if isinstance(value, Decimal | set | frozenset):
        return str(value) if isinstance(value, Decimal) else list(value)
    return _safe_repr(value)


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ in the agent's own class must not break the agent
        return f"<unprintable {type(value).__qualname__}>"


def _add_tokens(updated: Attributes, current: Mapping[str, Any], key: str, tokens: int | None) -> None:
    if tokens is not None and tokens >= 0:
        previous = current.get(key)
        updated[key] = (previous if type(previous) is int else 0) + int(tokens)


def _decimal(value: Any) -> Decimal:
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        return Decimal(str(value))  # str(): a float's shortest repr, not its binary expansion
    except InvalidOperation:
        return Decimal(0)
