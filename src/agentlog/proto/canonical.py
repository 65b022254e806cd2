"""A whole request's canonical columns at once: the columnar twin of ``normalize``.

``normalize`` walks one span's attribute dict in Python; ``canonical_table``
gets every attribute of every span of a request as one Arrow table (one row per
attribute, see ``columnar.ATTRIBUTE_SCHEMA``) and works on whole columns:

1. Each attribute row's key is looked up once among the keys of the precedence
   table (a ``conventions.Conventions``, read through ``_tables``; nothing is copied from it).
2. A repeated key of a span keeps its last row (``attributes_to_python`` does).
3. Every (row, rule that reads its key) pair whose value has the rule's type is
   a candidate; per (span, rule) the candidate of the lowest rank (position in
   the rule's key tuple) wins: the "first key that matches" of ``normalize``.
4. The columns are then combined with masks, as ``normalize`` combines them.

Python runs per distinct value, or per span only for the few spans a JSON rule
applies to, never once per span of the request:

* node type: the tables' own keys (any case) go through a precomputed lookup;
  any other string, through the tables once per distinct value;
* reported costs: ``Decimal`` once per distinct value of the cost keys (and per
  span that has langfuse cost details, which are JSON);
* pricing: ``pricing._price_for_day`` once per distinct (model, provider, UTC
  day); a linear price is applied to the token columns in integer arithmetic
  (int64, else Arrow decimal128), exact and rounded half-even as ``quantize``;
  a tiered price (a few models, e.g. gemini-*-pro) through ``price_usd`` per span;
* JSON, per span it applies to: langfuse usage details; an agent span's chat
  messages and pydantic-ai transcripts (the prompt); OpenLLMetry's flattened
  ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*`` messages (only for spans
  without input / output otherwise); input/output values that are not strings
  (their JSON text, cut to ``max_length``).

Those per-value rules call ``normalize``'s own helpers (``_prompt``,
``_flattened``, ``_langfuse_usage``, ``_reported_cost``, ``_decimal``), so the
two paths cannot drift apart there.

A token count no int64 column can hold is no count, in both (``normalize._storable``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from agentlog.proto import conventions as c
from agentlog.proto.anyvalue import JSONValue, truncate
from agentlog.proto.conventions import BUILT_IN, Conventions
from agentlog.proto.normalize import (
    CANONICAL_COLUMNS,
    STATUS_ERROR,
    USD_QUANTUM,
    _decimal,
    _flattened,
    _langfuse_usage,
    _prompt,
    _reported_cost,
)
from agentlog.proto.pricing import _NANOS_PER_DAY, _LinearPrice, _price_for_day, price_usd

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
_Counts = tuple[Ints, Bools]  # token counts of each span: value (0 where none), present

# Attribute value types (ATTRIBUTE_SCHEMA's "type").
T_STR, T_BOOL, T_INT, T_DOUBLE, T_ARRAY, T_KVLIST, T_BYTES, T_EMPTY = range(8)
_JSON_TYPES = (T_ARRAY, T_KVLIST, T_BYTES)

# What a rule accepts as a value (normalize's helper that reads it).
_STR = 0  # _first_str: a non-empty string
_INT = 1  # _first_int: a whole number >= 0 (int, double or ASCII-decimal string)
_TEXT = 2  # _text: anything but no value or ""
_KIND = 3  # _node_type: a string one of NODE_TYPE_KEYS' tables maps
_COST = 4  # _reported_cost: what _decimal reads as a finite number >= 0
_ANY = 5  # attributes.get(key): any value (JSON is read later, per span)

_INT64_MAX = 2**63 - 1
COST_TYPE = pa.decimal128(38, 12)
_MAX_PRICE_SCALE = 18  # tokens (19 digits) x price (<= 18 digits) fits decimal128's 38
_TOKEN_TYPE = pa.decimal128(19, 0)
_SPAN_COLUMNS = ("name", "status_code", "status_message", "start_time_unix_nano")
_COST_SOURCES = pa.array([None, "reported", "unknown", "computed"], pa.string())
# In normalize.Usage's order (the Langfuse path fills them from one).
_TOKEN_COLUMNS = (
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "total_tokens",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    keys: tuple[str, ...]
    accepts: int


def _rules(k: Conventions) -> tuple[_Rule, ...]:
    """Every key list normalize reads, from ``k`` and ``conventions``, with the type it accepts."""
    rules = [
        _Rule("kind", tuple(key for key, _ in k.node_type_keys), _KIND),
        _Rule("agent_name", k.agent_name, _STR),
        _Rule("agent_id", k.agent_id, _STR),
        _Rule("model", k.model, _STR),
        _Rule("provider", k.provider, _STR),
        _Rule("user_id", k.user_id, _STR),
        _Rule("session_id", k.session_id, _STR),
        _Rule("tool_name", k.tool_name, _STR),
        _Rule("entity_name", ("traceloop.entity.name",), _STR),  # normalize's own fallback for tool names
        _Rule("error_type", k.error_type, _STR),
        _Rule("input_tokens", k.input_tokens, _INT),
        _Rule("output_tokens", k.output_tokens, _INT),
        _Rule("cache_read_tokens", k.cache_read_tokens, _INT),
        _Rule("cache_write_tokens", k.cache_write_tokens, _INT),
        _Rule("reasoning_tokens", k.reasoning_tokens, _INT),
        _Rule("total_tokens", k.total_tokens, _INT),
        _Rule("agg_input_tokens", c.AGGREGATED_INPUT_TOKENS, _INT),
        _Rule("agg_output_tokens", c.AGGREGATED_OUTPUT_TOKENS, _INT),
        _Rule("agg_cache_read_tokens", c.AGGREGATED_CACHE_READ_TOKENS, _INT),
        _Rule("agg_cache_write_tokens", c.AGGREGATED_CACHE_WRITE_TOKENS, _INT),
        _Rule("agg_reasoning_tokens", c.AGGREGATED_REASONING_TOKENS, _INT),
        _Rule("transcript_start", c.TRANSCRIPT_START, _INT),
        _Rule("input", k.input, _TEXT),
        _Rule("output", k.output, _TEXT),
        _Rule("reported_cost", k.cost_usd, _COST),
        _Rule("langfuse_usage", (c.LANGFUSE_USAGE,), _ANY),
        _Rule("langfuse_cost", (c.LANGFUSE_COST,), _ANY),
        _Rule("agent_messages", c.AGENT_PROMPTS, _ANY),
    ]
    rules += [_Rule(f"transcript:{key}", (key,), _ANY) for key in c.TRANSCRIPTS]
    return tuple(rules)


_NODE_TYPES: tuple[str, ...] = c.NODE_TYPES
_NODE_TYPE_CODE = {name: code for code, name in enumerate(_NODE_TYPES)}
_NODE_TYPE_NAMES = pa.array(_NODE_TYPES, pa.string())
_AGGREGATED_NAMES = pa.array(sorted(c.AGGREGATED_USAGE_SPAN_NAMES), pa.string())
_AGENT_SPAN_NAMES = pa.array(["agent run", "agent_run"], pa.string())  # normalize._node_type's


@dataclass(frozen=True, eq=False)
class _Tables:
    """The lookup tables of one ``Conventions``: every key read, which rules read it, at which rank."""

    rules: tuple[_Rule, ...]
    rule: dict[str, int]  # rule name -> its index in ``rules``
    string_rules: tuple[str, ...]
    keys: tuple[str, ...]  # every key some rule reads, once
    key_set: pa.Array
    event_key_index: Ints  # an event's text: no key
    kind_tables: tuple[Mapping[str, str], ...]
    # For key index k: rules ``pair_rule[pair_start[k]:pair_start[k]+pair_count[k]]`` read it, at ranks ``pair_rank``.
    pair_start: Ints
    pair_count: Ints
    pair_rule: Ints
    pair_rank: Ints
    rule_accepts: Ints
    key_reads: Bools  # key_reads[kind][k]: some rule of that kind reads key k
    kind_table_of_key: Ints
    kind_values: pa.Array  # the node-type tables' keys in every case they match in
    kind_value_codes: Ints  # each table's code for each of kind_values (-1 last)


@functools.cache
def _tables(k: Conventions) -> _Tables:
    """``k``'s tables, built once per ``Conventions`` (compared by identity)."""
    rules = _rules(k)
    keys = tuple(dict.fromkeys(key for rule in rules for key in rule.keys))
    kind_keys = rules[0].keys
    kind_tables = tuple(table for _, table in k.node_type_keys)
    rule_of: list[int] = []
    rank_of: list[int] = []
    count = np.zeros(len(keys), np.int64)
    for index, key in enumerate(keys):
        for r, rule in enumerate(rules):
            if key in rule.keys:
                rule_of.append(r)
                rank_of.append(rule.keys.index(key))
                count[index] += 1
    values = sorted({v for table in kind_tables for key in table for v in (key, key.upper(), key.lower())})
    codes = [[_mapped_kind(v, table) for v in values] + [-1] for table in kind_tables]
    return _Tables(
        rules=rules,
        rule={rule.name: index for index, rule in enumerate(rules)},
        string_rules=tuple(rule.name for rule in rules if rule.accepts in (_STR, _TEXT)),
        keys=keys,
        key_set=pa.array(keys, pa.string()),
        event_key_index=np.array([keys.index(key) for key in c.EVENT_KEYS], np.int64),
        kind_tables=kind_tables,
        pair_start=np.concatenate(([0], np.cumsum(count)[:-1])).astype(np.int64),
        pair_count=count,
        pair_rule=np.array(rule_of, np.int64),
        pair_rank=np.array(rank_of, np.int64),
        rule_accepts=np.array([rule.accepts for rule in rules], np.int64),
        key_reads=np.array([[any(r.accepts == a and key in r.keys for r in rules) for key in keys] for a in range(6)]),
        kind_table_of_key=np.array([kind_keys.index(key) if key in kind_keys else -1 for key in keys], np.int64),
        kind_values=pa.array(values, pa.string()),
        kind_value_codes=np.array(codes, np.int64),
    )


def keys_read(conventions: Conventions = BUILT_IN) -> tuple[str, ...]:
    """Every attribute key the canonical columns of ``conventions`` read, once each."""
    return _tables(conventions).keys


# pyarrow.compute arguments as Arrow scalars: converting a Python value costs ~20-60 µs a call.
_MINUS_ONE_I32 = pa.scalar(-1, pa.int32())
_ZERO_I32 = pa.scalar(0, pa.int32())
_MINUS_ONE_F64 = pa.scalar(-1.0, pa.float64())
_FALSE = pa.scalar(False, pa.bool_())
_NULL_STR = pa.scalar(None, pa.string())
_STATUS_ERROR = pa.scalar(STATUS_ERROR, pa.uint8())


def canonical_table(
    spans: pa.Table,
    attributes: pa.Table,
    exceptions: pa.Table,
    max_length: int,
    lent: pa.Table | None = None,
    conventions: Conventions = BUILT_IN,
) -> pa.Table:
    """The canonical columns (``normalize.CANONICAL_COLUMNS``, typed as in ``rows.SPAN_ROWS``).

    One row per row of ``spans`` (columns name, status_code, status_message,
    start_time_unix_nano are read), equal to ``normalize`` span by span given the
    span's attributes (``attributes``: ATTRIBUTE_SCHEMA rows, ``span`` = row of
    ``spans``, in request order), what its message events lend it (``lent``,
    ``FlatSpans.lent``: read after its own attributes, as normalize gets
    ``{**attributes, **message_events(...)}``) and first exception event (``exceptions``), with the
    same ``conventions``.
    """
    n = spans.num_rows
    span_batch = _batch(spans.select(_SPAN_COLUMNS))  # FlatSpans.spans has many more, unread here
    attribute_batch = _batch(attributes if lent is None or not lent.num_rows else pa.concat_tables([attributes, lent]))
    found = _Found.of(attribute_batch, n, _tables(conventions))
    columns = _Columns(n, found, span_batch.column("name"), max_length)
    columns.node_type()
    columns.usage()
    columns.cost(span_batch.column("start_time_unix_nano"))
    columns.errors(span_batch, _batch(exceptions))
    columns.tool_name()
    columns.texts()
    return pa.table(columns.out, schema=CANONICAL_SCHEMA)


CANONICAL_SCHEMA = pa.schema(
    [
        ("node_type", pa.string()),
        ("agent_name", pa.string()),
        ("agent_id", pa.string()),
        ("model", pa.string()),
        ("provider", pa.string()),
        ("input_tokens", pa.int64()),
        ("output_tokens", pa.int64()),
        ("cache_read_tokens", pa.int64()),
        ("cache_write_tokens", pa.int64()),
        ("reasoning_tokens", pa.int64()),
        ("total_tokens", pa.int64()),
        ("usage_aggregated", pa.bool_()),
        ("cost_usd", COST_TYPE),
        ("cost_source", pa.string()),
        ("input", pa.string()),
        ("output", pa.string()),
        ("user_id", pa.string()),
        ("session_id", pa.string()),
        ("tool_name", pa.string()),
        ("error_type", pa.string()),
        ("error_message", pa.string()),
        ("input_key", pa.string()),
        ("output_key", pa.string()),
    ]
)
assert tuple(CANONICAL_SCHEMA.names) == CANONICAL_COLUMNS


# --------------------------------------------------------------------------- the winners


@dataclass(slots=True)
class _Found:
    """Per (rule, span): the attribute row whose value the rule takes, or -1.

    Rows are those of ``attributes`` whose key a rule reads, the last of each
    (span, key) (``keep``: their rows in ``attributes``, never copied);
    ``winner[rule, span]`` indexes them.
    """

    attributes: pa.RecordBatch
    keep: Ints  # then -1
    winner: Ints
    ints: Ints  # _first_int's value of each row (0 where it reads none); then 0
    kinds: Ints  # NODE_TYPES code of each row's mapped node type, -1 for none; then -1
    types: npt.NDArray[np.int8]  # each row's value type; then -1
    costs: dict[int, Decimal]  # row -> _decimal of its value, for the rows of cost keys it reads
    key_index: Ints  # each row's key in tables.keys; then -1
    tables: _Tables
    _strings: dict[str, pa.Array] | None = None

    @classmethod
    def of(cls, attributes: pa.RecordBatch, n_spans: int, tables: _Tables) -> _Found:
        keep, key_index = _last_rows(attributes, tables)
        types = _np(attributes.column("type"), np.int8)[keep]
        accepts, ints, kinds, costs = _accepted(attributes, keep, key_index, types, tables)
        winner = _winners(_np(attributes.column("span"), np.int64)[keep], key_index, accepts, n_spans, tables)
        # A sentinel last element: indexing with winner -1 reads "none" without a mask.
        return cls(
            attributes,
            np.append(keep, -1),
            winner,
            np.append(ints, 0),
            np.append(kinds, -1),
            np.append(types, -1),
            costs,
            np.append(key_index, -1),
            tables,
        )

    def row(self, rule: str) -> Ints:
        row: Ints = self.winner[self.tables.rule[rule]]
        return row

    def has(self, rule: str) -> Bools:
        found: Bools = self.winner[self.tables.rule[rule]] >= 0
        return found

    def strings(self, rule: str) -> pa.Array:
        """The string value of each span's winning row for ``rule`` (a ``string_rules`` one); null where none."""
        if self._strings is None:  # one take for all of them: each pyarrow call costs ~10 µs
            n = self.winner.shape[1]
            names = self.tables.string_rules
            index = self.keep[self.winner[[self.tables.rule[name] for name in names]]].ravel()
            taken = _take(self.attributes.column("str"), index)
            self._strings = {name: taken.slice(i * n, n) for i, name in enumerate(names)}
        return self._strings[rule]

    def keys(self, rule: str, where: Bools) -> pa.Array:
        """The key of each span's winning row for ``rule`` where ``where``; null elsewhere and where none."""
        index = np.where(where, self.key_index[self.row(rule)], -1)
        return self.tables.key_set.take(pa.array(np.maximum(index, 0), pa.int32(), mask=index < 0))

    def int_values(self, rule: str) -> _Counts:
        """Each span's ``_first_int`` for ``rule``: value, present."""
        index = self.row(rule)
        return self.ints[index], index >= 0

    def value(self, row: int) -> JSONValue:
        """Row ``row``'s value as ``attributes_to_python`` gives it (NaN/Inf as None)."""
        return _py_value(self.attributes, int(self.keep[row]))

    def values(self, rows: Ints) -> list[JSONValue]:
        """``value`` of each of ``rows`` (all >= 0)."""
        return _py_values(self.attributes, self.keep[rows])

    def column(self, name: str, row: int) -> Any:
        return self.attributes.column(name)[int(self.keep[row])].as_py()


def _batch(table: pa.Table) -> pa.RecordBatch:
    """The table's columns as single arrays: copied only when in several chunks."""
    arrays = [
        column.chunk(0)
        if column.num_chunks == 1
        else pa.concat_arrays(column.chunks)
        if column.num_chunks
        else pa.array([], column.type)
        for column in table.columns
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=table.schema)


def _np(array: pa.ChunkedArray | pa.Array, dtype: Any) -> Any:
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=dtype)


def _take(column: pa.ChunkedArray | pa.Array, index: Ints) -> pa.Array:
    """``column[index]``, null where ``index`` is -1."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    missing = index < 0
    if not len(column):
        return pa.nulls(len(index), column.type)
    return column.take(pa.array(np.where(missing, 0, index), mask=missing))


def _last_rows(attributes: pa.RecordBatch, tables: _Tables) -> tuple[Ints, Ints]:
    """Rows whose key a rule reads, the last of each (span, key), in row order; each one's index in ``keys``."""
    index = pc.fill_null(pc.index_in(attributes.column("key"), value_set=tables.key_set), _MINUS_ONE_I32)
    key_index = _np(index, np.int64)
    relevant = np.flatnonzero(key_index >= 0)
    if not len(relevant):
        return relevant, relevant
    code = _np(attributes.column("span"), np.int64)[relevant] * len(tables.keys) + key_index[relevant]
    last = np.full(int(code.max()) + 1, -1, np.int64)
    np.maximum.at(last, code, np.arange(len(code), dtype=np.int64))
    keep = relevant[last[code] == np.arange(len(code))]
    return keep, key_index[keep]


def _accepted(
    attributes: pa.RecordBatch, keep: Ints, key_index: Ints, types: npt.NDArray[np.int8], tables: _Tables
) -> tuple[Bools, Ints, Ints, dict[int, Decimal]]:
    """Which rows each kind of rule accepts (``accepts[kind, row]``), and their int, node type and cost."""
    is_str = types == T_STR
    lengths = _byte_lengths(attributes.column("str"), keep)
    nonempty = is_str & (lengths > 0)
    ints, is_int = _int_values(attributes, keep, tables.key_reads[_INT][key_index], types)
    kinds = _kind_codes(attributes, keep, key_index, is_str, tables)
    costs = _cost_values(attributes, keep, tables.key_reads[_COST][key_index])
    accepts = np.zeros((6, len(keep)), bool)
    accepts[_STR] = nonempty
    accepts[_INT] = is_int
    accepts[_TEXT] = (types != T_EMPTY) & ~(is_str & ~nonempty)
    accepts[_KIND] = kinds >= 0
    accepts[_COST][list(costs)] = True
    accepts[_ANY] = True  # attributes.get: even a value-less attribute is the key's (None)
    return accepts, ints, kinds, costs


def _byte_lengths(strings: pa.Array, rows: Ints) -> Ints:
    """Byte length of ``strings[rows]`` from the offsets buffer (no kernel; null rows: whatever, unread)."""
    width = np.int64 if pa.types.is_large_string(strings.type) else np.int32
    if not len(strings):
        return np.zeros(len(rows), np.int64)
    offsets = np.frombuffer(
        strings.buffers()[1], width, count=len(strings) + 1, offset=strings.offset * np.dtype(width).itemsize
    )
    ends: Ints = offsets[rows + 1].astype(np.int64)
    starts: Ints = offsets[rows].astype(np.int64)
    return ends - starts


def _int_values(attributes: pa.RecordBatch, keep: Ints, read: Bools, types: npt.NDArray[np.int8]) -> tuple[Ints, Bools]:
    """``_first_int``'s reading of the rows of ``read``: int >= 0, whole double >= 0, ASCII-decimal string.

    A whole number beyond int64 (a double or a long digit string) is not accepted, as in
    ``_first_int``: the next key is read.
    """
    values = np.zeros(len(keep), np.int64)
    valid = np.zeros(len(keep), bool)
    for kind in (T_INT, T_DOUBLE, T_STR):
        chosen = np.flatnonzero(read & (types == kind))
        if not len(chosen):
            continue
        column = attributes.column({T_INT: "int", T_DOUBLE: "double", T_STR: "str"}[kind])
        picked = column.take(pa.array(keep[chosen]))
        big = np.zeros(len(chosen), bool)
        if kind == T_INT:
            ints = _np(picked, np.int64)
            ok = ints >= 0
        elif kind == T_DOUBLE:
            doubles = _np(pc.fill_null(picked, _MINUS_ONE_F64), np.float64)
            ok = (doubles >= 0) & (np.floor(doubles) == doubles)
            big = ok & (doubles >= 2.0**63)
            ints = np.where(ok & ~big, doubles, 0).astype(np.int64)
        else:
            ok = _np(pc.and_(pc.string_is_ascii(picked), pc.utf8_is_decimal(picked)), bool)
            ints, big = _decimal_strings(picked, ok)
        fits = ok & ~big  # past int64 is not a count (normalize._first_int): the next key is tried
        values[chosen[fits]] = ints[fits]
        valid[chosen[fits]] = True
    return values, valid


def _decimal_strings(strings: pa.Array, ok: Bools) -> tuple[Ints, Bools]:
    """int() of the ASCII-decimal strings marked ``ok``: a cast, or Python for the rare over 18 digits."""
    ints = np.zeros(len(strings), np.int64)
    big = np.zeros(len(strings), bool)
    long = ok & (_np(pc.binary_length(strings), np.int64) > 18)
    short = ok & ~long
    if np.any(short):
        ints[short] = _np(pc.cast(strings.filter(pa.array(short)), pa.int64()), np.int64)
    for i in np.flatnonzero(long).tolist():
        value = int(strings[i].as_py())
        big[i] = value > _INT64_MAX
        ints[i] = min(value, _INT64_MAX)
    return ints, big


def _kind_codes(attributes: pa.RecordBatch, keep: Ints, key_index: Ints, is_str: Bools, tables: _Tables) -> Ints:
    """NODE_TYPES code each node-type key's string maps to, or -1.

    The tables' own keys (and their upper/lower case) are looked up in a precomputed table;
    any other string goes through ``_mapped_kind`` once per distinct value.
    """
    codes = np.full(len(keep), -1, np.int64)
    table = tables.kind_table_of_key[key_index]
    chosen = np.flatnonzero((table >= 0) & is_str)
    if not len(chosen):
        return codes
    values = attributes.column("str").take(pa.array(keep[chosen]))
    known = _np(pc.fill_null(pc.index_in(values, value_set=tables.kind_values), _MINUS_ONE_I32), np.int64)
    codes[chosen] = tables.kind_value_codes[table[chosen], known]
    other = np.flatnonzero(known < 0)
    if len(other):
        encoded = values.take(pa.array(other)).dictionary_encode()
        distinct = encoded.dictionary.to_pylist()
        mapped = np.array([[_mapped_kind(v, kinds) for v in distinct] for kinds in tables.kind_tables], np.int64)
        codes[chosen[other]] = mapped.reshape(len(tables.kind_tables), -1)[
            table[chosen[other]], _np(encoded.indices, np.int64)
        ]
    return codes


def _mapped_kind(value: str, table: Mapping[str, str]) -> int:
    """normalize._node_type's lookup of one value: as is, upper case, lower case."""
    found = table.get(value) or table.get(value.upper()) or table.get(value.lower())
    return _NODE_TYPE_CODE[found] if found else -1


def _cost_values(attributes: pa.RecordBatch, keep: Ints, read: Bools) -> dict[int, Decimal]:
    """``_decimal`` of the rows of ``read`` (cost keys) that it reads as a cost, per distinct value."""
    costs: dict[int, Decimal] = {}
    seen: dict[tuple[type, JSONValue], Decimal | None] = {}
    for row in np.flatnonzero(read).tolist():
        value = _py_value(attributes, int(keep[row]))
        marker = (type(value), value if not isinstance(value, list | dict) else orjson.dumps(value).decode())
        if marker not in seen:
            seen[marker] = _decimal(value)
        cost = seen[marker]
        if cost is not None:
            costs[row] = cost
    return costs


def _winners(spans: Ints, key_index: Ints, accepts: Bools, n_spans: int, t: _Tables) -> Ints:
    """``winner[rule, span]``: the accepted row of the lowest rank among the rule's keys, or -1."""
    none = np.iinfo(np.int64).max
    best = np.full(len(t.rules) * n_spans, none, np.int64)
    rows = np.arange(len(spans), dtype=np.int64)
    count = t.pair_count[key_index]
    for slot in range(int(count.max(initial=0))):  # most keys feed one rule; a few feed two or three
        row = rows if slot == 0 else rows[count > slot]
        pair = t.pair_start[key_index[row]] + slot
        rule = t.pair_rule[pair]
        ok = accepts[t.rule_accepts[rule], row]
        row, rule = row[ok], rule[ok]
        np.minimum.at(best, rule * n_spans + spans[row], (t.pair_rank[pair[ok]] << 32) | row)  # lowest rank first
    winner = best & 0xFFFFFFFF  # the row of that rank
    winner[best == none] = -1
    return winner.reshape(len(t.rules), n_spans)


def _py_values(attributes: pa.RecordBatch, rows: Ints) -> list[JSONValue]:
    """``_py_value`` of each of ``rows``, a few takes rather than a scalar per field."""
    values: list[JSONValue] = [None] * len(rows)
    if not len(rows):
        return values
    kinds = _np(attributes.column("type").take(pa.array(rows)), np.int8)
    for column, chosen in (
        ("str", kinds == T_STR),
        ("bool", kinds == T_BOOL),
        ("int", kinds == T_INT),
        ("double", kinds == T_DOUBLE),
        ("json", np.isin(kinds, _JSON_TYPES)),
    ):
        where = np.flatnonzero(chosen)
        if not len(where):
            continue
        taken = attributes.column(column).take(pa.array(rows[where])).to_pylist()
        if column == "json":
            taken = [orjson.loads(text) for text in taken]
        for i, value in zip(where.tolist(), taken, strict=True):
            values[i] = value
    return values


def _py_value(rows: pa.RecordBatch, row: int) -> JSONValue:
    """Attribute row ``row``'s value as ``attributes_to_python`` gives it (NaN/Inf: None)."""
    kind = rows.column("type")[row].as_py()
    if kind == T_STR:
        return rows.column("str")[row].as_py()  # type: ignore[no-any-return]
    if kind == T_BOOL:
        return rows.column("bool")[row].as_py()  # type: ignore[no-any-return]
    if kind == T_INT:
        return rows.column("int")[row].as_py()  # type: ignore[no-any-return]
    if kind == T_DOUBLE:
        return rows.column("double")[row].as_py()  # type: ignore[no-any-return]
    if kind in _JSON_TYPES:
        return orjson.loads(rows.column("json")[row].as_py())  # type: ignore[no-any-return]
    return None


# --------------------------------------------------------------------------- the columns


class _Columns:
    """The canonical columns of one request, built rule by rule as ``normalize`` combines them."""

    def __init__(self, n: int, found: _Found, names: pa.Array, max_length: int) -> None:
        self.n = n
        self.found = found
        self.names = names
        self.max_length = max_length
        self.out: dict[str, pa.Array] = {}
        for rule in ("agent_name", "agent_id", "model", "provider", "user_id", "session_id"):
            self.out[rule] = found.strings(rule)
        self.kind: Ints = np.zeros(n, np.int64)
        self.tokens: dict[str, _Counts] = {}
        self.aggregated: Bools = np.zeros(n, bool)

    def node_type(self) -> None:
        """Mapped kind; else a tool name -> tool; a model and tokens -> llm; agent-ish name -> agent."""
        found = self.found
        kind = found.kinds[found.row("kind")]
        unmapped = np.flatnonzero(kind < 0)
        if len(unmapped):  # the shape decides, for the spans no kind key maps
            has_tokens = found.has("input_tokens") | found.has("output_tokens")
            names = self.names.take(pa.array(unmapped))
            starts = _np(pc.fill_null(pc.starts_with(names, "invoke_agent"), _FALSE), bool)
            agent_name = starts | _np(pc.is_in(names, value_set=_AGENT_SPAN_NAMES), bool)
            kind[unmapped] = np.select(
                [found.has("tool_name")[unmapped], (found.has("model") & has_tokens)[unmapped], agent_name],
                [_NODE_TYPE_CODE["tool"], _NODE_TYPE_CODE["llm"], _NODE_TYPE_CODE["agent"]],
                _NODE_TYPE_CODE["span"],
            )
        self.kind = kind
        self.out["node_type"] = _NODE_TYPE_NAMES.take(pa.array(kind))

    def is_kind(self, name: str) -> Bools:
        return self.kind == _NODE_TYPE_CODE[name]  # type: ignore[no-any-return]

    def usage(self) -> None:
        """normalize._usage: direct counts, else aggregated ones, else langfuse details; total."""
        found = self.found
        tokens = {name: found.int_values(name) for name in _TOKEN_COLUMNS}
        agg = {name: found.int_values("agg_" + name) for name in ("input_tokens", "output_tokens")}
        direct = tokens["input_tokens"][1] | tokens["output_tokens"][1]
        aggregated = ~direct & (agg["input_tokens"][1] | agg["output_tokens"][1])
        for name in ("input_tokens", "output_tokens"):
            tokens[name] = _pick(~direct, agg[name], tokens[name])
        for name in ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens"):
            tokens[name] = _pick(aggregated, found.int_values("agg_" + name), tokens[name])
        tokens, aggregated, from_langfuse = self._langfuse_usage(tokens, aggregated)
        inp, out, total = tokens["input_tokens"], tokens["output_tokens"], tokens["total_tokens"]
        summed = ~total[1] & (inp[1] | out[1]) & ~from_langfuse
        beyond = summed & (inp[0] > _INT64_MAX - out[0])  # a sum no column holds is no total (normalize._storable)
        tokens["total_tokens"] = (
            np.where(summed & ~beyond, inp[0] + np.where(beyond, 0, out[0]), total[0]),
            total[1] | (summed & ~beyond),
        )
        by_name = _np(pc.is_in(self.names, value_set=_AGGREGATED_NAMES), bool)
        self.aggregated = aggregated | (by_name & tokens["total_tokens"][1])
        self.tokens = tokens
        for name, (values, present) in tokens.items():
            self.out[name] = pa.array(values, pa.int64(), mask=~present)
        self.out["usage_aggregated"] = pa.array(self.aggregated, pa.bool_())

    def _langfuse_usage(self, tokens: dict[str, _Counts], aggregated: Bools) -> tuple[dict[str, _Counts], Bools, Bools]:
        """Spans without input/output counts whose langfuse usage details give some: JSON, per span."""
        found = self.found
        candidates = ~tokens["input_tokens"][1] & ~tokens["output_tokens"][1] & found.has("langfuse_usage")
        replaced = np.zeros(self.n, bool)
        if not np.any(candidates):
            return tokens, aggregated, replaced
        tokens = {name: (v.copy(), p.copy()) for name, (v, p) in tokens.items()}
        aggregated = aggregated.copy()
        rows = found.row("langfuse_usage")
        for span in np.flatnonzero(candidates).tolist():
            usage = _langfuse_usage(found.value(int(rows[span])))
            if usage is None:
                continue
            replaced[span] = True
            aggregated[span] = usage.aggregated
            for name, value in zip(tokens, usage[:6], strict=True):
                storable = value is not None and value <= _INT64_MAX  # normalize._storable
                tokens[name][0][span] = value if value is not None and storable else 0
                tokens[name][1][span] = storable
        return tokens, aggregated, replaced

    def cost(self, starts: pa.Array) -> None:
        """normalize._cost: a reported cost, else priced from model and tokens, else unknown."""
        reported = self._reported()
        is_reported = _mask(reported, self.n)
        has_usage = self.tokens["input_tokens"][1] | self.tokens["output_tokens"][1]
        priceable = ~is_reported & has_usage & ~self.aggregated & self.found.has("model")
        costs, known = self._computed(priceable, starts)
        if reported:
            values = pa.array([reported[span] for span in sorted(reported)], COST_TYPE)
            costs = pc.replace_with_mask(costs, pa.array(is_reported), values)
        source = np.select([is_reported, ~has_usage, priceable & known], [1, 0, 3], 2)
        self.out["cost_usd"] = costs
        self.out["cost_source"] = _COST_SOURCES.take(pa.array(source))  # entry 0 is null

    def _reported(self) -> dict[int, Decimal]:
        """Quantized reported cost by span: the cost keys in order, then langfuse cost details (JSON)."""
        found = self.found
        out: dict[int, Decimal] = {}
        rows = found.row("reported_cost")
        for span in np.flatnonzero(rows >= 0).tolist():
            value = found.costs[int(rows[span])]
            if value is not None:
                out[span] = value.quantize(USD_QUANTUM)
        details = found.row("langfuse_cost")
        for span in np.flatnonzero((details >= 0) & (rows < 0)).tolist():
            total = _reported_cost({c.LANGFUSE_COST: found.value(int(details[span]))})
            if total is not None:
                out[span] = total.quantize(USD_QUANTUM)
        return out

    def _computed(self, priceable: Bools, starts: pa.Array) -> tuple[pa.Array, Bools]:
        """Priced cost of the ``priceable`` spans (null elsewhere) and where a price was known.

        genai-prices is asked once per distinct (model, provider, UTC day).
        """
        known = np.zeros(self.n, bool)
        if not np.any(priceable):
            return pa.nulls(self.n, COST_TYPE), known
        spans = np.flatnonzero(priceable)
        model = self.out["model"].dictionary_encode()
        provider = self.out["provider"].dictionary_encode()
        day = _np(starts, np.uint64)[spans] // np.uint64(_NANOS_PER_DAY)
        day_code = (day - day.min()).astype(np.int64)
        provider_code = _np(pc.fill_null(provider.indices, _MINUS_ONE_I32), np.int64)[spans] + 1
        model_code = _np(pc.fill_null(model.indices, _MINUS_ONE_I32), np.int64)[spans]
        code = (model_code * (len(provider.dictionary) + 1) + provider_code) * (int(day_code.max()) + 1) + day_code
        _, first, group_of = np.unique(code, return_index=True, return_inverse=True)
        group_of = group_of.reshape(-1)
        exemplar = pa.array(spans[first])
        models = self.out["model"].take(exemplar).to_pylist()
        providers = self.out["provider"].take(exemplar).to_pylist()
        group_days = day[first].tolist()
        prices = [_price_for_day(m, p, d) for m, p, d in zip(models, providers, group_days, strict=True)]
        priced = np.array([price is not None for price in prices], bool)
        known[spans] = priced[group_of]
        inp = self.tokens["input_tokens"][0][spans]
        out = self.tokens["output_tokens"][0][spans]
        cache = np.minimum(self.tokens["cache_read_tokens"][0][spans], inp)  # pricing.cache_counts
        write = np.minimum(self.tokens["cache_write_tokens"][0][spans], inp - cache)
        linear = [price if isinstance(price, _LinearPrice) else None for price in prices]
        costs = _linear_costs(linear, group_of, _Tokens(inp - cache - write, cache, write, out))
        tiered = np.flatnonzero((priced & np.array([p is None for p in linear], bool))[group_of])
        if len(tiered):  # a tiered price: genai-prices' own calculation, per span
            values = []
            for i in tiered.tolist():
                g = int(group_of[i])
                start = group_days[g] * _NANOS_PER_DAY
                counts = (int(inp[i]), int(cache[i]), int(write[i]), int(out[i]))
                value = price_usd(models[g], providers[g], *counts, start)
                values.append(value.quantize(USD_QUANTUM) if value is not None else None)
            mask = np.zeros(len(spans), bool)
            mask[tiered] = True
            costs = pc.replace_with_mask(costs, pa.array(mask), pa.array(values, COST_TYPE))
        return pc.replace_with_mask(pa.nulls(self.n, COST_TYPE), pa.array(priceable), costs), known

    def errors(self, spans: pa.RecordBatch, exceptions: pa.RecordBatch) -> None:
        """Status ERROR: error.type / exception.type, status message / exception.message / the type."""
        failed = _np(pc.fill_null(pc.equal(spans.column("status_code"), _STATUS_ERROR), _FALSE), bool)
        if not np.any(failed):
            self.out["error_type"] = self.out["error_message"] = pa.nulls(self.n, pa.string())
            return
        exception_row = np.full(self.n, -1, np.int64)
        exception_row[_np(exceptions.column("span"), np.int64)] = np.arange(exceptions.num_rows, dtype=np.int64)
        exception_type = _nonempty(_take(exceptions.column("type"), exception_row))
        exception_message = _nonempty(_take(exceptions.column("message"), exception_row))
        error_type = pc.coalesce(self.found.strings("error_type"), exception_type)
        status_message = _nonempty(spans.column("status_message"))
        message = pc.coalesce(status_message, exception_message, error_type)
        self.out["error_type"] = pc.if_else(pa.array(failed), error_type, _NULL_STR)
        self.out["error_message"] = pc.if_else(pa.array(failed), message, _NULL_STR)

    def tool_name(self) -> None:
        """gen_ai.tool.name ...; a tool span without one: traceloop.entity.name, else its own name."""
        named = pc.coalesce(self.found.strings("tool_name"), self.found.strings("entity_name"), self.names)
        fallback = pc.if_else(pa.array(self.is_kind("tool")), named, _NULL_STR)
        self.out["tool_name"] = pc.coalesce(self.found.strings("tool_name"), fallback)

    def texts(self) -> None:
        """input / output and the key each is the verbatim value of (see normalize._input, _text)."""
        flattened = _FlattenedRows(self.found.attributes, ~self.found.has("input") | ~self.found.has("output"))
        found = self.found
        overrides: dict[int, tuple[str | None, str | None]] = {}
        if np.any(self.is_kind("agent") & found.has("agent_messages")):
            rows = found.row("agent_messages")
            spans = np.flatnonzero(self.is_kind("agent") & (rows >= 0))
            for span, messages in zip(spans.tolist(), found.values(rows[spans]), strict=True):
                prompt = _prompt(messages, 0)
                if prompt is not None:
                    overrides[span] = (truncate(prompt, self.max_length), None)
        transcripts = np.zeros(self.n, bool)
        for key in c.TRANSCRIPTS:
            transcripts |= found.has(f"transcript:{key}")
        self._text("input", overrides, flattened, c.FLATTENED_INPUT_PREFIX, (self._transcript_prompt, transcripts))
        self._text("output", {}, flattened, c.FLATTENED_OUTPUT_PREFIX, None)

    def _text(
        self,
        column: str,
        overrides: dict[int, tuple[str | None, str | None]],
        flattened: _FlattenedRows,
        prefix: str,
        last_resort: tuple[Callable[[int], str | None], Bools] | None,
    ) -> None:
        """One text column: the rule's winner (verbatim string or JSON text), else flattened messages, else
        ``last_resort`` for the spans it marks; ``overrides`` (span -> text) win over all of these."""
        found = self.found
        rows = found.row(column)
        kinds = found.types[rows]
        verbatim = (kinds == T_STR) & ~_mask(overrides, self.n)
        for span in np.flatnonzero((rows >= 0) & (kinds != T_STR)).tolist():
            if span not in overrides:
                overrides[span] = (truncate(self._json_text(int(rows[span])), self.max_length), None)
        fallbacks = flattened.spans | (last_resort[1] if last_resort is not None else False)
        for span in np.flatnonzero((rows < 0) & fallbacks).tolist():
            if span in overrides:
                continue
            text = flattened.text(span, prefix, self.max_length)
            if text is None and last_resort is not None:
                text = last_resort[0](span)
            if text is not None:
                overrides[span] = (text, None)
        # Every span not verbatim has no winner (its string is null) or is in overrides.
        text = found.strings(column)
        key = found.keys(column, verbatim & ~np.isin(found.key_index[rows], found.tables.event_key_index))
        if overrides:
            mask = _mask(overrides, self.n)
            values = [overrides[span][0] for span in sorted(overrides)]
            text = pc.replace_with_mask(text, pa.array(mask), pa.array(values, pa.string()))
        self.out[column] = text
        self.out[column + "_key"] = key

    def _json_text(self, row: int) -> str:
        """A value that is not a string as normalize._text writes it (NaN/Inf: null, as orjson does)."""
        kind = int(self.found.types[row])
        if kind in _JSON_TYPES:
            return str(self.found.column("json", row))
        if kind == T_DOUBLE and self.found.column("double", row) is None:
            return "null"
        return orjson.dumps(self.found.value(row)).decode()

    def _transcript_prompt(self, span: int) -> str | None:
        """pydantic-ai: the first user prompt of this run's messages (JSON, per span without input)."""
        row = int(self.found.row("transcript_start")[span])
        first = int(self.found.ints[row])  # `or 0`: none reads as 0 (the sentinel)
        for key in c.TRANSCRIPTS:
            row = int(self.found.row(f"transcript:{key}")[span])
            if row >= 0:
                prompt = _prompt(self.found.value(row), first)
                if prompt is not None:
                    return truncate(prompt, self.max_length)
        return None


class _FlattenedRows:
    """OpenLLMetry's flattened messages (``gen_ai.prompt.0.content`` ...) of the spans in ``need``.

    Only those spans' keys are scanned for the prefixes; their text is built per span (JSON).
    """

    def __init__(self, attributes: pa.RecordBatch, need: Bools) -> None:
        self.attributes = attributes
        self.rows_of: dict[int, list[int]] = {}
        self.spans = np.zeros(len(need), bool)
        if not np.any(need):
            return
        span_of = _np(attributes.column("span"), np.int64)
        candidates = np.flatnonzero(need[span_of]) if len(span_of) else span_of
        keys = attributes.column("key").take(pa.array(candidates))
        prefixed = pc.or_(
            pc.starts_with(keys, c.FLATTENED_INPUT_PREFIX), pc.starts_with(keys, c.FLATTENED_OUTPUT_PREFIX)
        )
        rows = candidates[_np(pc.fill_null(prefixed, _FALSE), bool)]
        for row, span in zip(rows.tolist(), span_of[rows].tolist(), strict=True):
            self.rows_of.setdefault(span, []).append(row)
        self.spans[list(self.rows_of)] = True

    def text(self, span: int, prefix: str, max_length: int) -> str | None:
        rows = self.rows_of.get(span)
        if not rows:
            return None
        values = {self.attributes.column("key")[row].as_py(): _py_value(self.attributes, row) for row in rows}
        return _flattened(values, prefix, max_length)


def _pick(where: Bools, then: _Counts, otherwise: _Counts) -> _Counts:
    return (
        np.where(where, then[0], otherwise[0]),
        np.where(where, then[1], otherwise[1]),
    )


def _mask(spans: dict[int, Any], n: int) -> Bools:
    mask = np.zeros(n, bool)
    mask[list(spans)] = True
    return mask


def _nonempty(strings: pa.Array) -> pa.Array:
    """Null where empty: normalize's ``or`` passes over "" as over None."""
    return pc.if_else(pc.equal(pc.binary_length(strings), _ZERO_I32), _NULL_STR, strings)


@dataclass(frozen=True, slots=True)
class _Tokens:
    """Each priced span's tokens by what they are charged as (``_LinearPrice``'s fields)."""

    input: Ints  # uncached input: the input less cache reads and writes
    cache_read: Ints
    cache_write: Ints
    output: Ints

    def counts(self) -> tuple[Ints, ...]:
        return tuple(getattr(self, field) for field in _PRICE_FIELDS)


_PRICE_FIELDS = ("input", "cache_read", "cache_write", "output")


def _linear_costs(prices: Sequence[_LinearPrice | None], group_of: Ints, tokens: _Tokens) -> pa.Array:
    """The sum over ``_PRICE_FIELDS`` of tokens x price, quantized; null where no linear price.

    Exact, as ``price_usd`` then ``Decimal.quantize`` (half-even to the pico-dollar): each price is
    an integer count of 10^-scale dollars, so the sum is integer arithmetic; in int64 when its
    bound fits (any realistic request), else in Arrow decimal128, else (prices finer than 10^-18)
    in Decimal per span.
    """
    linear = [p for p in prices if p is not None]
    if not linear:
        return pa.nulls(len(group_of), COST_TYPE)
    amounts = [getattr(p, field) for p in linear for field in _PRICE_FIELDS]
    scale = max(-min(int(d.as_tuple().exponent) for d in amounts), 0)
    if scale > _MAX_PRICE_SCALE or any(d < 0 for d in amounts):
        return _decimal_costs(prices, group_of, tokens)
    has_price = np.array([p is not None for p in prices], bool)[group_of]
    units = [[int(getattr(p, field).scaleb(scale)) if p is not None else 0 for p in prices] for field in _PRICE_FIELDS]
    counts = tokens.counts()
    bound = sum(int(count.max(initial=0)) * max(unit) for count, unit in zip(counts, units, strict=True))
    if bound * 10 ** max(12 - scale, 0) < 2**63:
        return _int64_costs(units, scale, group_of, counts, has_price)
    return _decimal128_costs(prices, scale, group_of, tokens, has_price)


def _int64_costs(
    units: list[list[int]], scale: int, group_of: Ints, tokens: tuple[Ints, ...], has_price: Bools
) -> pa.Array:
    """The sum in 10^-scale dollars in int64, rounded half-even to 10^-12, as decimal128(38, 12) buffers."""
    total = np.zeros(len(group_of), np.int64)
    for count, unit in zip(tokens, units, strict=True):
        total += count * np.array(unit, np.int64)[group_of]
    if scale <= 12:
        pico = total * np.int64(10 ** (12 - scale))
    else:
        divisor = np.int64(10 ** (scale - 12))
        pico, rest = np.divmod(total, divisor)
        pico += (2 * rest > divisor) | ((2 * rest == divisor) & (pico % 2 == 1))
    words = np.zeros((len(pico), 2), np.int64)  # decimal128: little-endian 128-bit; values are >= 0
    words[:, 0] = pico
    validity = pa.array(has_price).buffers()[1] if not has_price.all() else None
    return pa.Array.from_buffers(COST_TYPE, len(pico), [validity, pa.py_buffer(words.tobytes())])


def _decimal128_costs(
    prices: Sequence[_LinearPrice | None], scale: int, group_of: Ints, tokens: _Tokens, has_price: Bools
) -> pa.Array:
    """The same sum in Arrow decimal128 (tokens 19 digits x prices <= 18 digits fit its 38)."""
    price_type = pa.decimal128(_MAX_PRICE_SCALE, scale)
    total: pa.Array | None = None
    for count_of, field in zip(tokens.counts(), _PRICE_FIELDS, strict=True):
        per_group = pa.array([getattr(p, field) if p is not None else None for p in prices], price_type)
        count = pa.array(count_of, pa.int64()).cast(_TOKEN_TYPE)
        term = pc.multiply(count, per_group.take(pa.array(group_of))).cast(pa.decimal128(36, scale))
        # Four terms below 10^36 sum below 10^37: keep the running total at precision 37 (an add widens it).
        total = term if total is None else pc.add(total, term).cast(pa.decimal128(37, scale))
    rounded = pc.round(total, ndigits=12, round_mode="half_to_even").cast(COST_TYPE)
    return pc.if_else(pa.array(has_price), rounded, pa.scalar(None, COST_TYPE))


def _decimal_costs(prices: Sequence[_LinearPrice | None], group_of: Ints, tokens: _Tokens) -> pa.Array:
    """Fallback for prices finer than decimal128 can multiply exactly: Decimal per span."""
    result: list[Decimal | None] = [None] * len(group_of)
    counts = tokens.counts()
    for i, group in enumerate(group_of.tolist()):
        p = prices[group]
        if p is not None:
            total = sum(
                (int(count[i]) * getattr(p, field) for count, field in zip(counts, _PRICE_FIELDS, strict=True)),
                Decimal(0),
            )
            result[i] = total.quantize(USD_QUANTUM)
    return pa.array(result, COST_TYPE)
