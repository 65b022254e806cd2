"""canonical_table (columnar) == normalize (span by span), on every input test_normalize gives normalize,
on the factories' requests, and on random attribute sets drawn from the conventions' keys."""

from __future__ import annotations

import contextlib
import copy
import inspect
import itertools
from collections.abc import Iterator
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentlog.proto import conventions as c
from agentlog.proto.canonical import CANONICAL_SCHEMA, canonical_table, keys_read
from agentlog.proto.conventions import BUILT_IN, Conventions
from agentlog.proto.conventions_file import extend
from agentlog.proto.normalize import CANONICAL_COLUMNS, Canonical
from agentlog.proto.rows import SPAN_ROWS
from agentlog.proto.spans import decode_spans
from tests.factories import agent_spans, make_request
from tests.proto import test_normalize
from tests.proto.columnar_inputs import SpanInput, from_batch, oracle, tables

NormalizeCall = tuple[str, dict[str, Any], int, str, dict[str, Any] | None, int, int]


def _parametrizations(test: Any) -> Iterator[dict[str, Any]]:
    """Every set of arguments pytest would call ``test`` with (stacked parametrize marks: their product)."""
    axes = []
    for mark in getattr(test, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        names, values = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        rows = [v.values if hasattr(v, "marks") else v for v in values]  # pytest.param(...) or plain
        axes.append([dict(zip(names, row if len(names) > 1 else (row,), strict=True)) for row in rows])
    for combination in itertools.product(*axes):
        yield {k: v for part in combination for k, v in part.items()}


def _recorded_calls() -> list[tuple[NormalizeCall, Canonical]]:
    """Run test_normalize's tests with normalize wrapped: each (arguments, result) it computed."""
    calls: list[tuple[NormalizeCall, Canonical]] = []
    real = getattr(test_normalize, "normalize")  # noqa: B009 - the name test_normalize's run() calls

    def record(*args: Any) -> Canonical:
        result: Canonical = real(*args)
        calls.append((copy.deepcopy(args), result))  # a test may change its dict after the call
        return result

    setattr(test_normalize, "normalize", record)  # noqa: B010
    try:
        for name, test in vars(test_normalize).items():
            if name.startswith("test_") and inspect.isfunction(test):
                for arguments in _parametrizations(test):
                    with contextlib.suppress(AssertionError):  # test_normalize reports its own failures
                        test(**arguments)
    finally:
        setattr(test_normalize, "normalize", real)  # noqa: B010
    return calls


RECORDED = _recorded_calls()


def _input(call: NormalizeCall) -> SpanInput:
    name, attributes, status_code, status_message, exception, start, _ = call
    return SpanInput(name, list(attributes.items()), status_code, status_message, exception, start)


def _columnar(spans: list[SpanInput], max_length: int, conventions: Conventions = BUILT_IN) -> list[dict[str, Any]]:
    table = canonical_table(*tables(spans), max_length, conventions=conventions)
    assert tuple(table.column_names) == CANONICAL_COLUMNS
    return table.to_pylist()  # type: ignore[no-any-return]


def test_test_normalize_gives_normalize_many_inputs() -> None:
    assert len(RECORDED) > 100


@pytest.mark.parametrize(("call", "expected"), RECORDED)
def test_each_test_normalize_input(call: NormalizeCall, expected: Canonical) -> None:
    assert _columnar([_input(call)], call[-1]) == [expected._asdict()]


def test_all_test_normalize_inputs_in_one_table() -> None:
    for max_length, group in itertools.groupby(sorted(RECORDED, key=lambda r: r[0][-1]), key=lambda r: r[0][-1]):
        calls = list(group)
        assert _columnar([_input(call) for call, _ in calls], max_length) == [r._asdict() for _, r in calls]


def test_a_reported_cost_past_what_money_keeps_is_no_cost_to_either() -> None:
    spans = [SpanInput("chat", [("gen_ai.usage.cost", "99999999999999999")])]
    expected = oracle(spans, 100)
    assert expected[0]["cost_usd"] is None
    assert _columnar(spans, 100) == expected


def test_a_token_count_past_int64_is_not_a_count_and_the_next_key_is_read() -> None:
    span = SpanInput(
        "chat",
        [("gen_ai.request.model", "gpt-4o"), ("gen_ai.usage.input_tokens", 1e19),
         ("gen_ai.usage.prompt_tokens", "9" * 20), ("llm.token_count.prompt", 12), ("gen_ai.usage.output_tokens", 3)],
    )  # fmt: skip
    expected = oracle([span], 100)
    assert expected[0]["input_tokens"] == 12
    assert _columnar([span], 100) == expected


def test_a_total_no_column_can_hold_is_no_total_to_either() -> None:
    counts = [
        ("gen_ai.request.model", "gpt-4o"),
        ("gen_ai.usage.input_tokens", 2**62),
        ("gen_ai.usage.output_tokens", 2**62),
    ]
    spans = [SpanInput("chat", counts)]
    expected = oracle(spans, 100)
    assert (expected[0]["input_tokens"], expected[0]["total_tokens"]) == (2**62, None)
    assert _columnar(spans, 100) == expected


def test_langfuse_cost_parts_past_what_money_keeps_are_no_cost_to_either() -> None:
    parts = orjson.dumps({"input": 9e15, "output": 9e15}).decode()
    spans = [SpanInput("generation", [("langfuse.observation.cost_details", parts)])]
    expected = oracle(spans, 100)
    assert expected[0]["cost_usd"] is None
    assert _columnar(spans, 100) == expected


@pytest.mark.parametrize("count", [1, 2, 17])
def test_factory_requests(count: int) -> None:
    batch = decode_spans(make_request(agent_spans(count)))
    assert _columnar(from_batch(batch), 128 * 1024) == [r._asdict() for r in batch.canonical]


def test_no_spans() -> None:
    assert _columnar([], 100) == []


# --------------------------------------------------------------------------- random inputs

KEYS = [
    *keys_read(),
    "gen_ai.prompt.0.role",
    "gen_ai.prompt.0.content",
    "gen_ai.prompt.1.content",
    "gen_ai.prompt.00.content",
    "gen_ai.prompt.x.content",
    "gen_ai.prompt.2.",
    "gen_ai.completion.0.content",
    "gen_ai.completion.1.role",
    "traceloop.entity.name",
    "unrelated.key",
]
KIND_VALUES = sorted({v for _, table in c.NODE_TYPE_KEYS for k in table for v in (k, k.upper(), k.lower(), k.title())})
JSON_TEXTS = [
    '{"input": 10, "output": "5", "input_cache_read": 2, "output_reasoning": 1}',
    '{"input": 10, "total": 30}',
    '{"prompt_tokens": 10, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 2}}',
    '{"input_tokens": 7, "output_tokens_details": {"reasoning_tokens": 2}, "total": 20}',
    '{"total": 0.5}',
    '{"input": 0.1, "output": "0.2"}',
    '{"input": 0.1, "output": "x"}',
    '[{"role": "user", "content": "hi"}]',
    '[{"role": "system", "content": "s"}, {"role": "user", "parts": [{"type": "text", "content": "a"}]}]',
    '[{"role": "user", "content": ["a", "b"]}, {"role": "user", "content": "second"}]',
    "[1, 2]",
    "not json",
]
STRINGS = [
    "", "0", "007", "1200", "12.5", "-3", "1e3", " 1.5 ", "١٢", "²", "99999999999999999", "NaN", "gpt-4o", "gpt-4o-mini",
    "claude-3-5-sonnet-20241022", "gemini-1.5-pro", "no-such-model", "openai", "anthropic", "gcp.gemini", "azure.ai.openai",
    "agent", "ValueError", "x" * 60, *KIND_VALUES, *JSON_TEXTS,
]  # fmt: skip
scalars = st.one_of(
    st.sampled_from(STRINGS),
    st.text(max_size=8),
    st.integers(-5, 10**7),
    st.integers(0, 2**62),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, 250.0, 3.5, -0.0, 1e-7]),
    st.booleans(),
    st.none(),
    st.binary(max_size=6),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(
                [
                    "input",
                    "output",
                    "total",
                    "prompt_tokens",
                    "completion_tokens",
                    "role",
                    "content",
                    "parts",
                    "type",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        ),
        st.sampled_from([orjson.loads(text) for text in JSON_TEXTS[:-1]]),
    ),
    max_leaves=6,
)
DAYS = [1_717_200_000 * 10**9, 1_750_000_000 * 10**9 + 123, 1_780_000_000 * 10**9]
spans_strategy = st.builds(
    SpanInput,
    name=st.sampled_from(["chat", "agent run", "agent_run", "invoke_agent x", "tool", "step", ""]),
    attributes=st.lists(st.tuples(st.sampled_from(KEYS), values), max_size=12),
    status_code=st.sampled_from([0, 1, 2]),
    status_message=st.sampled_from(["", "boom"]),
    exception=st.none()
    | st.dictionaries(st.sampled_from(["exception.type", "exception.message"]), scalars, max_size=2),
    start=st.sampled_from(DAYS),
)

MODELS = ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet-20241022", "gemini-1.5-pro", "gemini-2.5-pro", "no-such-model"]
counts = st.one_of(st.integers(0, 10**7), st.integers(0, 2**62), st.sampled_from([0, 1, 999_999, "1200", 3.0]))


@st.composite
def priced_spans(draw: st.DrawFn) -> SpanInput:
    """A model call: model, maybe a provider, token counts (some huge), and random other attributes."""
    attributes: list[tuple[str, Any]] = [(draw(st.sampled_from(c.MODEL[:3])), draw(st.sampled_from(MODELS)))]
    if draw(st.booleans()):
        attributes.append(
            (
                draw(st.sampled_from(c.PROVIDER)),
                draw(st.sampled_from(["openai", "anthropic", "gcp.gemini", "azure.ai.openai"])),
            )
        )
    for keys in (c.INPUT_TOKENS, c.OUTPUT_TOKENS, c.CACHE_READ_TOKENS, c.AGGREGATED_INPUT_TOKENS):
        if draw(st.integers(0, 3)):
            attributes.append((draw(st.sampled_from(keys)), draw(counts)))
    attributes += draw(st.lists(st.tuples(st.sampled_from(KEYS), values), max_size=3))
    span = draw(spans_strategy)
    span.attributes = draw(st.permutations(attributes))
    return span


# A few keys, so that keys repeat within a span (the last occurrence is the value) and compete for one column.
FEW_KEYS = [
    c.MODEL[0], c.MODEL[1], c.INPUT_TOKENS[0], c.INPUT_TOKENS[1], c.OUTPUT_TOKENS[0], c.INPUT[0], c.INPUT[3],
    c.OUTPUT[0], c.NODE_TYPE_KEYS[0][0], c.NODE_TYPE_KEYS[1][0], c.REPORTED_COST[0], c.REPORTED_COST[1],
    c.TOOL_NAME[0], c.TRANSCRIPTS[0], c.TRANSCRIPT_START[0], "gen_ai.prompt.0.content", "gen_ai.prompt.00.role",
]  # fmt: skip
dense_spans = st.builds(
    SpanInput,
    name=st.sampled_from(["chat", "agent run", "invoke_agent x", "tool"]),
    attributes=st.lists(st.tuples(st.sampled_from(FEW_KEYS), values), max_size=10),
    status_code=st.sampled_from([0, 2]),
    start=st.sampled_from(DAYS),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(spans_strategy | priced_spans() | dense_spans, max_size=6), st.sampled_from([4, 40, 100_000]))
def test_random_attribute_sets(spans: list[SpanInput], max_length: int) -> None:
    try:
        expected = oracle(spans, max_length)
    except Exception as error:  # whatever normalize raises, the table must raise too
        with pytest.raises(type(error)):
            _columnar(spans, max_length)
        return
    assert _columnar(spans, max_length) == expected


# An organisation's conventions: its own keys first, a built-in key moved up its own column
# (gen_ai.request.model) and one given to a column of another type (a count key read as a user).
ORGANISATION = extend(
    BUILT_IN,
    {
        "columns": {
            "user_id": ["acme.customer_id", "gen_ai.usage.input_tokens"],
            "model": ["acme.model", "gen_ai.request.model"],
            "input_tokens": ["acme.tokens.in"],
            "cost_usd": ["acme.cost"],
            "input": ["acme.request"],
            "agent_name": "acme.flow",
        },
        "node_types": {"acme.kind": {"model_call": "llm", "Tool": "tool"}, "gen_ai.operation.name": {"ask": "agent"}},
    },
    "test",
)
ORGANISATION_KEYS = [
    "acme.customer_id", "acme.model", "acme.tokens.in", "acme.cost", "acme.request", "acme.flow", "acme.kind",
    c.INPUT_TOKENS[0], c.MODEL[0], c.MODEL[1], c.USER_ID[0], "gen_ai.operation.name", c.OUTPUT_TOKENS[0],
]  # fmt: skip
organisation_values = values | st.sampled_from(["model_call", "TOOL", "tool", "ask", "chat", "acme-1", "12"])
organisation_spans = st.builds(
    SpanInput,
    name=st.sampled_from(["chat", "agent run", "step"]),
    attributes=st.lists(st.tuples(st.sampled_from(ORGANISATION_KEYS), organisation_values | counts), max_size=10),
    status_code=st.sampled_from([0, 2]),
    start=st.sampled_from(DAYS),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(organisation_spans | dense_spans, max_size=6), st.sampled_from([4, 100_000]))
def test_an_organisations_conventions(spans: list[SpanInput], max_length: int) -> None:
    assert _columnar(spans, max_length, ORGANISATION) == oracle(spans, max_length, ORGANISATION)


def test_an_organisations_keys_come_first() -> None:
    span = SpanInput("step", [("user.id", "u-builtin"), ("acme.customer_id", "c-42"), ("acme.kind", "MODEL_CALL")])
    (row,) = _columnar([span], 100, ORGANISATION)
    assert (row["user_id"], row["node_type"]) == ("c-42", "llm")
    (row,) = _columnar([span], 100)  # the built-in table knows neither key
    assert (row["user_id"], row["node_type"]) == ("u-builtin", "span")


def test_tables_in_several_chunks_give_the_same_columns() -> None:
    calls = [call for call, _ in RECORDED if call[-1] == test_normalize.MAX_LENGTH]
    spans, attributes, exceptions = tables([_input(call) for call in calls])
    whole = canonical_table(spans, attributes, exceptions, test_normalize.MAX_LENGTH)

    def chunked(table: pa.Table) -> pa.Table:
        half = table.num_rows // 2
        return pa.concat_tables([table.slice(0, half), table.slice(half)])

    assert canonical_table(chunked(spans), chunked(attributes), chunked(exceptions), test_normalize.MAX_LENGTH) == whole


def test_arrays_that_are_slices_of_larger_ones_give_the_same_columns() -> None:
    calls = [call for call, _ in RECORDED if call[-1] == test_normalize.MAX_LENGTH]
    spans, attributes, exceptions = tables([_input(call) for call in calls])
    whole = canonical_table(spans, attributes, exceptions, test_normalize.MAX_LENGTH)

    def offset(table: pa.Table) -> pa.Table:  # one chunk whose arrays start at an offset
        return pa.concat_tables([table.slice(0, 3), table]).combine_chunks().slice(min(3, table.num_rows))

    assert canonical_table(offset(spans), offset(attributes), offset(exceptions), test_normalize.MAX_LENGTH) == whole


def test_columns_are_typed_as_the_store_types_them() -> None:
    assert pa.schema([SPAN_ROWS.field(name) for name in CANONICAL_COLUMNS]) == CANONICAL_SCHEMA
