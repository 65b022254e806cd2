"""Every attribute key the exporter writes is one agentlog's normaliser reads, and means what the exporter meant."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from agentlog.exporter import attributes as a
from agentlog.exporter import semconv as k
from agentlog.proto import conventions
from agentlog.proto.normalize import normalize

T0 = 1_763_900_000_000_000_000


def keys_the_normaliser_reads() -> set[str]:
    read: set[str] = {key for key, _ in conventions.NODE_TYPE_KEYS}
    for value in vars(conventions).values():
        if isinstance(value, str):
            read.add(value)
        elif isinstance(value, tuple) and all(isinstance(item, str) for item in value):
            read.update(value)
    return read


def canonical(name: str, attributes: dict[str, Any], status: int = 0, message: str = "") -> Any:
    return normalize(name, attributes, status, message, None, T0, 10_000)


def test_every_key_written_is_read_at_ingest() -> None:
    assert not k.WRITTEN_KEYS - keys_the_normaliser_reads()
    assert k.SPAN_TYPE == conventions.AGENTLOG_SPAN_TYPE


def test_node_types_are_agentlogs_and_each_maps_back_to_itself() -> None:
    assert k.NODE_TYPES == conventions.NODE_TYPES
    for node_type in k.NODE_TYPES:
        attributes = a.start_attributes(node_type, "step")
        assert canonical("step", attributes).node_type == node_type, node_type
        assert a.node_type_of(attributes) == node_type


def test_names_models_users_and_sessions_land_in_their_columns() -> None:
    run = canonical("invoke_agent triager", a.start_attributes("agent", "triager", user_id="u-1", session_id="s-1"))
    assert (run.agent_name, run.user_id, run.session_id) == ("triager", "u-1", "s-1")
    tool = canonical("search", a.start_attributes("tool", "search"))
    assert tool.tool_name == "search"
    llm = canonical("planner", a.start_attributes("llm", "planner", model="gpt-4o", provider="openai"))
    assert (llm.model, llm.provider) == ("gpt-4o", "openai")


@pytest.mark.parametrize(
    ("node_type", "value", "key", "stored"),
    [
        ("agent", "Process PR #42", k.INPUT_VALUE, "Process PR #42"),
        ("chain", {"pr": 42}, k.INPUT_VALUE, '{"pr":42}'),
        ("tool", {"query": "x"}, k.TOOL_ARGUMENTS, '{"query":"x"}'),
        ("llm", [{"role": "user", "content": "hi"}], k.INPUT_MESSAGES, '[{"role":"user","content":"hi"}]'),
    ],
)
def test_inputs_and_outputs_go_under_their_conventions_key(node_type: str, value: Any, key: str, stored: str) -> None:
    attributes = a.input_attributes(node_type, value)
    assert attributes[key] == stored
    assert canonical("step", {**a.start_attributes(node_type, "step"), **attributes}).input == stored
    output = a.output_attributes(node_type, value)
    assert canonical("step", {**a.start_attributes(node_type, "step"), **output}).output == stored


def test_usage_and_cost_are_read_as_written() -> None:
    usage = a.usage_attributes(
        {}, input_tokens=1200, output_tokens=80, cache_read_tokens=1000, cache_write_tokens=150, reasoning_tokens=30,
        cost_usd=Decimal("0.012"),
    )  # fmt: skip
    row = canonical("planner", {**a.start_attributes("llm", "planner", model="gpt-4o"), **usage})
    assert (row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens) == (1200, 80, 1000, 150)
    assert (row.reasoning_tokens, row.total_tokens) == (30, 1280)
    assert (row.cost_usd, row.cost_source) == (Decimal("0.012"), "reported")
    priced = canonical("planner", {**a.start_attributes("llm", "planner", model="gpt-4o"), k.INPUT_TOKENS: 1000})
    assert priced.cost_source == "computed"


def test_error_type_is_read() -> None:
    row = canonical("search", {k.ERROR_TYPE: "tools.SearchTimeout"}, status=2, message="timed out")
    assert (row.error_type, row.error_message) == ("tools.SearchTimeout", "timed out")
