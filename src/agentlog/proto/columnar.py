"""``ExportTraceServiceRequest`` bytes -> flat Arrow tables, column by column, without a Python loop per span.

``flatten_request`` is the columnar twin of ``parse_protobuf`` + ``decode_spans``
(which stays, as the oracle its tests compare with): ptars turns the bytes
into one nested Arrow record batch in native code, and its three levels
(resource, scope, span) are flattened with ``list_flatten`` /
``list_parent_indices``, zero-copy. Everything after that is whole-column
work (pyarrow.compute, numpy on Arrow buffers):

- every attribute of every span, resource, event and link is one row of one
  pass (``_Owners``): type, truncated string, JSON text;
- nested ``AnyValue``s (arrays, kvlists), which ptars leaves as serialized
  bytes, are parsed by ptars again, one nesting level at a time for all
  values of that level at once (``MAX_NESTING`` levels at most);
- JSON objects and arrays are assembled by one ``take`` of pooled texts and
  one list ``binary_join`` (``_assemble``); strings are escaped as orjson
  escapes them, with the characters needing it found by numpy;
- doubles are formatted by one ``orjson.dumps`` of the column (numpy), so
  their text is orjson's byte for byte: the attributes JSON is byte-identical
  to ``orjson.dumps(attributes_to_python(...))``, doubles included.

Python runs per value only where no kernel does the job, for the few values
concerned:

- per distinct attribute key (a handful a request): its JSON prefix and its
  code in the key dictionary;
- bytes values: ``base64`` (no Arrow kernel does it), one call per value;
- rejected spans: their reason is built by the oracle's own functions
  (``ids``, ``times``), one call per rejected span, at most ``MAX_REASONS``;
- logfire pending markers: their ``logfire.pending_parent_id`` (a hex string)
  is parsed by ``ids.parse_span_id_hex``, one call per marker;
- a body with an ``AnyValue`` that has two members of its oneof set (only a
  hand-made body: protobuf keeps the last, ptars both) is re-serialized by
  protobuf first, and then decoded the same way.

What protobuf refuses may still be read: ptars does not check everything
protobuf checks (the tests only require that what protobuf reads, this reads
the same). Values nested deeper than ``MAX_NESTING`` (which protobuf refuses
anyway, much earlier) make the request an ``InvalidRequest``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cache
from typing import Any

import numpy as np
import orjson
import ptars
import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from agentlog.errors import InvalidRequest
from agentlog.proto.anyvalue import TRUNCATION_MARK
from agentlog.proto.conventions import (
    AGENTLOG_SPAN_TYPE,
    EVENT_KEYS,
    LOGFIRE_PENDING_PARENT,
    LOGFIRE_SPAN_TYPE,
    MESSAGE_EVENTS,
)
from agentlog.proto.ids import (
    TRACE_ID_TYPE,
    InvalidId,
    parent_span_id_to_int,
    parse_span_id_hex,
    span_id_to_int,
    trace_id_array,
    trace_id_to_int,
)
from agentlog.proto.normalize import STATUS_ERROR
from agentlog.proto.otlp import parse_protobuf
from agentlog.proto.spans import DEFAULT_MAX_ATTRIBUTE_LENGTH, MAX_CODE, MAX_REASONS, InvalidCode, check_codes
from agentlog.proto.times import MAX_TIME_NS, SENT_END_TIME, InvalidTime, span_times

ATTRIBUTE_SCHEMA = pa.schema(
    [
        ("span", pa.int32()),  # row of the span in FlatSpans.spans
        ("key", pa.string()),
        ("type", pa.int8()),  # see TYPE_*
        ("str", pa.string()),  # string values, truncated (anyvalue.truncate's mark) to max_attribute_length
        ("int", pa.int64()),
        ("double", pa.float64()),  # NaN/Inf as null, as anyvalue stores them
        ("bool", pa.bool_()),
        ("json", pa.string()),  # arrays, kvlists and bytes as the JSON text anyvalue.py stores for them
    ]
)
EXCEPTION_SCHEMA = pa.schema([("span", pa.int32()), ("type", pa.string()), ("message", pa.string())])

TYPE_STRING, TYPE_BOOL, TYPE_INT, TYPE_DOUBLE, TYPE_ARRAY, TYPE_KVLIST, TYPE_BYTES, TYPE_EMPTY = range(8)

# The trace id travels as its 16 bytes, which the INSERT casts to the UUID it is stored as.
SPAN_SCHEMA = pa.schema(
    [
        ("trace_id", TRACE_ID_TYPE),
        ("span_id", pa.uint64()),
        ("parent_span_id", pa.uint64()),
        ("trace_state", pa.string()),
        ("flags", pa.uint32()),
        ("name", pa.string()),
        ("kind", pa.uint8()),
        ("start_time_unix_nano", pa.uint64()),
        ("end_time_unix_nano", pa.uint64()),
        ("status_code", pa.uint8()),
        ("status_message", pa.string()),
        ("service_name", pa.string()),
        ("resource_attributes", pa.string()),
        ("scope_name", pa.string()),
        ("scope_version", pa.string()),
        ("attributes", pa.string()),
        ("events", pa.string()),
        ("links", pa.string()),
        ("dropped_attributes_count", pa.uint32()),
        ("dropped_events_count", pa.uint32()),
        ("dropped_links_count", pa.uint32()),
        ("is_pending", pa.bool_()),
    ]
)
"""The OTLP columns of a stored span row (``rows.SPAN_ROWS``: the tenant, these, the canonical columns)."""


@dataclass(frozen=True, slots=True)
class FlatSpans:
    """One request's spans as flat Arrow tables; see the module docstring and ``flatten_request``."""

    spans: pa.Table
    """One row per kept span, ``SPAN_SCHEMA``."""
    attributes: pa.Table
    """``ATTRIBUTE_SCHEMA``: every attribute of every kept span, in request order; a repeated key is one
    row, where the key first appears, with its last value (a dict's order); includes SENT_END_TIME."""
    exceptions: pa.Table
    """``EXCEPTION_SCHEMA``: one row per ERROR span with an "exception" event (its first one)."""
    rejected: int
    reasons: list[str]
    parts: tuple[RequestPart, ...] = ()
    """From ``flatten_requests``: each request's share, in order (its kept spans are consecutive rows)."""
    lent: pa.Table = dataclass_field(default_factory=ATTRIBUTE_SCHEMA.empty_table)
    """``ATTRIBUTE_SCHEMA``: what each span's message events lend it (``normalize.message_events``), under the
    keys ``EVENT_INPUT`` / ``EVENT_OUTPUT``: read by the normaliser after the span's own, never stored."""


@dataclass(frozen=True, slots=True)
class RequestPart:
    """One request's share of a FlatSpans decoded from several (``flatten_requests``)."""

    spans: int
    """Its kept spans: the next ``spans`` rows of ``FlatSpans.spans``."""
    rejected: int
    reasons: list[str]


@cache
def _lit(value: Any, type_: pa.DataType | None = None) -> pa.Scalar:
    """An Arrow scalar, made once: pa.scalar costs ~20 us a call here (it probes for optional imports)."""
    return pa.scalar(value, type_)


@cache
def _handler() -> Any:
    """ptars' converter for ExportTraceServiceRequest (built once: it compiles the descriptors)."""
    pool = ptars.HandlerPool([ExportTraceServiceRequest.DESCRIPTOR.file])
    return pool.get_for_message(ExportTraceServiceRequest.DESCRIPTOR)


def flatten_request(body: bytes, max_attribute_length: int = DEFAULT_MAX_ATTRIBUTE_LENGTH) -> FlatSpans:
    """ExportTraceServiceRequest protobuf bytes -> FlatSpans; InvalidRequest (agentlog.errors) when not one.

    Equal, column for column, to ``to_arrow(decode_spans(parse_protobuf(body)))`` without the tenant and
    canonical columns; spans that cannot be stored are left out and counted, with the same reasons."""
    try:
        return _flatten(body, max_attribute_length)
    except _SeveralOfOneof:
        # protobuf merges repeated occurrences and keeps the last member of a oneof; ptars keeps them all.
        # Only hand-made bodies do this: protobuf reads them, and its own serialization is unambiguous.
        return _flatten(parse_protobuf(body).SerializeToString(), max_attribute_length)


def flatten_requests(bodies: Sequence[bytes], max_attribute_length: int = DEFAULT_MAX_ATTRIBUTE_LENGTH) -> FlatSpans:
    """Several requests' bodies -> one FlatSpans with each request's share in ``parts``.

    One pass for all of them: a pass has a fixed cost of some hundred kernel calls (~1 ms), so this
    is cheaper per span than ``flatten_request`` body by body, and gives the same rows. InvalidRequest
    when any body is not a request (or is a hand-made one, see ``flatten_request``): the caller then
    decodes them one by one, for each to get its own answer."""
    try:
        return _flatten(bodies, max_attribute_length)
    except _SeveralOfOneof:
        raise InvalidRequest("a body has an AnyValue with two members of its oneof set") from None


class _SeveralOfOneof(Exception):
    """An AnyValue with more than one member of its oneof set (see flatten_request)."""


def _flatten(bodies: bytes | Sequence[bytes], max_attribute_length: int) -> FlatSpans:
    """One body (``flatten_request``), or several (``flatten_requests``: with their ``parts``)."""
    several = not isinstance(bodies, bytes)
    batch = _read(_handler().list_to_record_batch, list(bodies) if several else [bodies])
    resource_lists = batch.column(0)
    resource_spans = pc.list_flatten(resource_lists)
    scope_lists = pc.struct_field(resource_spans, "scope_spans")
    resource_of_scope = pc.list_parent_indices(scope_lists)
    scope_spans = pc.list_flatten(scope_lists)
    span_lists = pc.struct_field(scope_spans, "spans")
    scope_of_span = pc.list_parent_indices(span_lists)
    spans = pc.list_flatten(span_lists)
    resource_of_span = pc.take(resource_of_scope, scope_of_span)
    request_of_span = None
    if several:
        request_of_resource = pc.list_parent_indices(resource_lists).to_numpy()
        request_of_span = (request_of_resource[resource_of_span.to_numpy()], batch.num_rows)
    try:
        return _flatten_spans(
            spans, resource_spans, resource_of_span, scope_spans, scope_of_span, max_attribute_length, request_of_span
        )
    except pa.ArrowInvalid as error:  # a kind or status code past 255: no stored column holds it
        raise InvalidRequest(f"a span's field is out of range: {error}") from None


def _flatten_spans(
    spans: pa.StructArray,
    resource_spans: pa.StructArray,
    resource_of_span: pa.Array,
    scope_spans: pa.StructArray,
    scope_of_span: pa.Array,
    max_length: int,
    request_of_span: tuple[np.ndarray, int] | None = None,
) -> FlatSpans:
    """FlatSpans of ptars' flattened spans (with their resources and scopes, and which of them each span has;
    ``request_of_span``: with several requests, each span's request and how many requests there are).

    Order matters where decode_spans' does: SENT_END_TIME is added before the attributes are deduplicated
    (a sent attribute of that name is replaced in place); markers are read from the deduplicated attributes
    (last value wins); a logfire marker's ids are swapped before the rejections are counted."""
    n = len(spans)
    field = _fields(spans)
    start = field["start_time_unix_nano"].to_numpy(zero_copy_only=False)
    sent_end = field["end_time_unix_nano"].to_numpy(zero_copy_only=False)
    end = np.maximum(start, sent_end)
    owners = _Owners(field, resource_spans)
    attributes = owners.attribute_rows(max_length, _sent_end_rows(end != sent_end, sent_end))
    objects = _objects(attributes, owners.total)
    span_rows = attributes.head(int(np.searchsorted(attributes.owner, n)))
    ids = _Ids(field)
    marker_self, marker_parent = _markers(attributes, n)
    span_id, parent_id, parent_valid, marker_errors = _marked_ids(ids, marker_parent, span_rows)
    times_ok = (start != 0) & (start <= MAX_TIME_NS) & (sent_end <= MAX_TIME_NS)
    status = _fields(field["status"])
    status["code"] = pc.fill_null(status["code"], _lit(0, pa.int32()))  # no status sent: UNSET
    codes_ok = _code_ok(field["kind"]) & _code_ok(status["code"])
    keep = ids.trace_ok & ids.span_ok & ids.parent_ok & times_ok & codes_ok & ~marker_errors
    if request_of_span is None:
        parts: tuple[RequestPart, ...] = ()
        rejected, reasons = _rejections(keep, field, marker_parent, span_rows)
    else:  # the totals are the parts' (each reason is built once)
        parts = _parts(keep, *request_of_span, field, marker_parent, span_rows)
        rejected = sum(part.rejected for part in parts)
        reasons = [reason for part in parts for reason in part.reasons][:MAX_REASONS]
    scope = _fields(pc.struct_field(scope_spans, "scope"))
    resources = np.arange(owners.base["resource"], owners.base["event"])
    columns: dict[str, Any] = {
        "trace_id": ids.trace_id,
        "span_id": span_id,
        "parent_span_id": pa.array(parent_id, pa.uint64(), mask=~parent_valid),
        "trace_state": _none_if_empty(field["trace_state"]),
        "flags": field["flags"],
        "name": field["name"],
        "kind": pc.cast(field["kind"], pa.uint8(), safe=False),  # rows out of range are rejected (codes_ok)
        "start_time_unix_nano": field["start_time_unix_nano"],
        "end_time_unix_nano": pa.array(end, pa.uint64()),
        "status_code": pc.cast(status["code"], pa.uint8(), safe=False),
        "status_message": _none_if_empty(status["message"]),
        "service_name": _string_of(attributes, "service.name", resources).take(resource_of_span),
        "resource_attributes": owners.slice(objects, "resource").take(resource_of_span),
        "scope_name": _none_if_empty(scope["name"]).take(scope_of_span),
        "scope_version": _none_if_empty(scope["version"]).take(scope_of_span),
        "attributes": objects.slice(0, n),
        "events": _events_json(owners, owners.slice(objects, "event"), n),
        "links": _links_json(owners, owners.slice(objects, "link"), n),
        "dropped_attributes_count": field["dropped_attributes_count"],
        "dropped_events_count": field["dropped_events_count"],
        "dropped_links_count": field["dropped_links_count"],
        "is_pending": pa.array(marker_self | marker_parent),
    }
    table = pa.table(columns, schema=SPAN_SCHEMA)
    exceptions = _exceptions(owners, status["code"], attributes)
    lent = _lent(owners, attributes)
    if keep.all():
        return FlatSpans(table, _attribute_table(span_rows), exceptions, rejected, reasons, parts, lent)
    return _kept(table, span_rows, exceptions, keep, rejected, reasons, parts, lent)


def _code_ok(codes: pa.Array) -> np.ndarray:
    """Which of a column of kinds or status codes fit the stored byte (``spans.check_codes``)."""
    values: np.ndarray = codes.to_numpy(zero_copy_only=False)
    ok: np.ndarray = (values >= 0) & (values <= MAX_CODE)
    return ok


def _parts(
    keep: np.ndarray,
    request: np.ndarray,
    requests: int,
    field: dict[str, pa.Array],
    marker_parent: np.ndarray,
    attributes: _Rows,
) -> tuple[RequestPart, ...]:
    """Each request's kept spans and rejections (reasons only for the few requests that have any)."""
    kept = np.bincount(request[keep], minlength=requests)
    rejected = np.bincount(request[~keep], minlength=requests)
    parts = []
    for index in range(requests):
        reasons: list[str] = []
        if rejected[index]:
            _, reasons = _rejections(keep | (request != index), field, marker_parent, attributes)
        parts.append(RequestPart(int(kept[index]), int(rejected[index]), reasons))
    return tuple(parts)


class _Owners:
    """Everything that has attributes, numbered together so one pass decodes them all (each pass has a fixed
    cost of tens of kernel calls): spans [0, n), then resources, events, links."""

    def __init__(self, field: dict[str, pa.Array], resource_spans: pa.StructArray) -> None:
        resource = _fields(pc.struct_field(resource_spans, "resource"))
        self.event_lists, self.link_lists = field["events"], field["links"]
        self.events = _fields(pc.list_flatten(self.event_lists))
        self.links = _fields(pc.list_flatten(self.link_lists))
        self.lists = {
            "span": field["attributes"],
            "resource": resource["attributes"],
            "event": self.events["attributes"],
            "link": self.links["attributes"],
        }
        self.base: dict[str, int] = {}
        total = 0
        for name, lists in self.lists.items():
            self.base[name] = total
            total += len(lists)
        self.total = total

    def slice(self, array: pa.Array, name: str) -> pa.Array:
        return array.slice(self.base[name], len(self.lists[name]))

    def attribute_rows(self, max_length: int, extra: tuple[np.ndarray, np.ndarray]) -> _Rows:
        """The attributes of every owner as one set of rows (``extra``: spans' added SENT_END_TIME)."""
        owner = np.concatenate(
            [
                pc.list_parent_indices(lists).to_numpy().astype(np.int64) + self.base[name]
                for name, lists in self.lists.items()
            ]
        )
        flat = [pc.list_flatten(lists) for lists in self.lists.values()]
        key_values = pa.concat_arrays(flat) if len(flat) > 1 else flat[0]
        return _attribute_rows(owner, _fields(key_values), max_length, extra)


def _kept(
    table: pa.Table,
    attributes: _Rows,
    exceptions: pa.Table,
    keep: np.ndarray,
    rejected: int,
    reasons: list[str],
    parts: tuple[RequestPart, ...],
    lent: pa.Table,
) -> FlatSpans:
    """The FlatSpans of the kept spans only, their rows renumbered."""
    new_row = (np.cumsum(keep) - 1).astype(np.int32)
    kept_rows = np.flatnonzero(keep[attributes.owner])
    rows = attributes.take(kept_rows, new_row[attributes.owner[kept_rows]])
    exceptions, lent = (_kept_spans(side, keep, new_row) for side in (exceptions, lent))
    flat = FlatSpans(table.filter(pa.array(keep)), _attribute_table(rows), exceptions, rejected, reasons, parts, lent)
    return flat


def _kept_spans(table: pa.Table, keep: np.ndarray, new_row: np.ndarray) -> pa.Table:
    """A per-span side table's rows of kept spans, their ``span`` renumbered."""
    span = table.column("span").to_numpy()
    kept = keep[span]
    return table.filter(pa.array(kept)).set_column(0, "span", pa.array(new_row[span[kept]], pa.int32()))


def _fields(struct: pa.Array) -> dict[str, pa.Array]:
    """A struct array's children by name, with the struct's own offset and nulls applied."""
    names = [struct.type.field(i).name for i in range(struct.type.num_fields)]
    if not struct.null_count:  # field() applies the offset, and there are no nulls to merge: no copies
        return {name: struct.field(i) for i, name in enumerate(names)}
    return dict(zip(names, struct.flatten(), strict=True))


def _none_if_empty(strings: pa.Array) -> pa.Array:
    """Empty strings as null, as ``value or None`` does: a new validity bitmap over the same buffers."""
    offsets = _offsets(strings)
    present = (np.diff(offsets) > 0) & _valid(strings)
    if present.all():
        return strings
    bitmap = np.packbits(np.concatenate([np.zeros(strings.offset, bool), present]), bitorder="little")
    buffers = [pa.py_buffer(bitmap), *strings.buffers()[1:]]
    return pa.Array.from_buffers(pa.string(), len(strings), buffers, int((~present).sum()), strings.offset)


# --- ids ---------------------------------------------------------------------------------------------------------


class _Ids:
    """Trace, span and parent ids as integers, with which rows are valid (``ids.py``'s rules)."""

    def __init__(self, field: dict[str, pa.Array]) -> None:
        trace, self.trace_ok = _fixed_ints(field["trace_id"], 16)
        self.trace_ok &= (trace[:, 0] != 0) | (trace[:, 1] != 0)
        self.trace_id = trace_id_array(trace)
        span, self.span_ok = _fixed_ints(field["span_id"], 8)
        self.span_id = span[:, 0].copy()
        self.span_ok &= self.span_id != 0
        parent, parent_is_8 = _fixed_ints(field["parent_span_id"], 8)
        parent_lengths = pc.binary_length(field["parent_span_id"]).to_numpy()
        self.parent_ok = parent_is_8 | (parent_lengths == 0)
        self.parent_id = parent[:, 0].copy()
        self.parent_valid = parent_is_8 & (self.parent_id != 0)


def _fixed_ints(binary: pa.Array, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``size`` bytes as big-endian uint64 words (an (n, size // 8) array; 0 elsewhere), and which."""
    offsets = _offsets(binary)
    data = binary.buffers()[2]
    raw = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    starts = offsets[:-1]
    ok = (offsets[1:] - starts) == size
    gathered = np.zeros((len(binary), size), np.uint8)
    if ok.any():
        gathered[ok] = raw[starts[ok, None] + np.arange(size)]
    return gathered.view(">u8").astype(np.uint64), ok


def _marked_ids(
    ids: _Ids, marker_parent: np.ndarray, attributes: _Rows
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(span id, parent id, parent present, marker error) after logfire's swap: a logfire pending marker is a
    child of the span it announces, whose parent is in ``logfire.pending_parent_id`` (parsed per marker)."""
    span_id, parent_id, parent_valid = ids.span_id.copy(), ids.parent_id.copy(), ids.parent_valid.copy()
    errors = np.zeros(len(span_id), bool)
    for row in np.flatnonzero(marker_parent & ids.trace_ok & ids.span_ok & ids.parent_ok):
        try:
            span_id[row], parent = _logfire_ids(
                int(ids.parent_id[row]) if ids.parent_valid[row] else None,
                attributes.string_value(int(row), LOGFIRE_PENDING_PARENT),
            )
        except InvalidId:
            errors[row] = True
            continue
        parent_id[row], parent_valid[row] = parent or 0, parent is not None
    return span_id, parent_id, parent_valid, errors


def _logfire_ids(marker_parent: int | None, pending_parent: str | None) -> tuple[int, int | None]:
    """spans._logfire_marked_span's rule (which it stays the oracle of)."""
    if marker_parent is None:
        raise InvalidId("a logfire pending span must have the span it announces as parent")
    parent = None
    if pending_parent is not None and pending_parent.strip("0"):
        parent = parse_span_id_hex(pending_parent)
    return marker_parent, parent


def _rejections(
    keep: np.ndarray, field: dict[str, pa.Array], marker_parent: np.ndarray, attributes: _Rows
) -> tuple[int, list[str]]:
    """How many spans are rejected, and the first MAX_REASONS reasons, built by the oracle's functions."""
    rejected_rows = np.flatnonzero(~keep)
    reasons = []
    for row in rejected_rows[:MAX_REASONS]:
        span = {name: field[name][int(row)].as_py() for name in _REASON_FIELDS}
        span["status_code"] = (field["status"][int(row)].as_py() or {}).get("code") or 0
        reasons.append(f"span {span['name']!r}: {_reason(span, bool(marker_parent[row]), attributes, int(row))}")
    return len(rejected_rows), reasons


_REASON_FIELDS = (
    "name", "trace_id", "span_id", "parent_span_id", "start_time_unix_nano", "end_time_unix_nano", "kind",
)  # fmt: skip


def _reason(span: dict[str, Any], logfire_marker: bool, attributes: _Rows, row: int) -> str:
    try:
        trace_id_to_int(span["trace_id"])
        span_id_to_int(span["span_id"])
        parent = parent_span_id_to_int(span["parent_span_id"])
        if logfire_marker:
            _logfire_ids(parent, attributes.string_value(row, LOGFIRE_PENDING_PARENT))
        span_times(span["start_time_unix_nano"], span["end_time_unix_nano"])
        check_codes(span["kind"], span["status_code"])
    except (InvalidId, InvalidTime, InvalidCode) as error:
        return str(error)
    raise AssertionError("a span rejected by columns passed the oracle's checks")  # pragma: no cover


# --- attributes --------------------------------------------------------------------------------------------------


class _Keys:
    """A column of keys dictionary-encoded: ``codes`` per row into ``names`` (the distinct keys)."""

    def __init__(self, keys: pa.Array) -> None:
        encoded = pc.dictionary_encode(keys)
        self.codes = encoded.indices.to_numpy().astype(np.int64)
        self.names: pa.Array = encoded.dictionary
        self._lookup: dict[str, int] | None = None

    def code(self, key: str) -> int:
        """The code of ``key``; -1 when no row has it (a dict of the distinct keys, made once)."""
        if self._lookup is None:
            self._lookup = {name: code for code, name in enumerate(self.names.to_pylist())}
        return self._lookup.get(key, -1)


class _Rows:
    """Attribute rows of some owners (spans, events, links, resources), one per distinct key of an owner in dict
    order: ATTRIBUTE_SCHEMA's value columns (``table``), and what ``_objects`` writes them with: key codes,
    and each value's JSON text as an index into ``pool`` and whether it is quoted."""

    def __init__(self, owner: np.ndarray, table: pa.Table, keys: _Keys, codes: np.ndarray, values: _Texts) -> None:
        self.owner = owner
        self.table = table
        self.keys = keys
        self.codes = codes
        self.values = values

    def take(self, rows: np.ndarray, owner: np.ndarray | None = None) -> _Rows:
        """These rows only (renumbered owners when given)."""
        return _Rows(
            self.owner[rows] if owner is None else owner,
            self.table.take(pa.array(rows)),
            self.keys,
            self.codes[rows],
            self.values.take(rows),
        )

    def head(self, count: int) -> _Rows:
        """The first ``count`` rows (zero-copy slices)."""
        values = _Texts(self.values.pool, self.values.text[:count], self.values.quoted[:count])
        return _Rows(self.owner[:count], self.table.slice(0, count), self.keys, self.codes[:count], values)

    def hits(self, key: str) -> np.ndarray:
        """The rows of ``key`` whose value is a string."""
        code = self.keys.code(key)
        if code < 0:
            return np.zeros(0, np.int64)
        kind = self.table.column("type").to_numpy()
        return np.flatnonzero((self.codes == code) & (kind == TYPE_STRING))

    def string_value(self, owner: int, key: str) -> str | None:
        """The string value of ``key`` of one owner (None when absent or not a string)."""
        rows = self.hits(key)
        rows = rows[self.owner[rows] == owner]
        return str(self.table.column("str")[int(rows[0])].as_py()) if len(rows) else None


class _Texts:
    """Per row, a value's JSON text: ``text`` indexes ``pool``; ``quoted`` rows are strings, written between
    quotes (added when assembled, so the long texts are copied once)."""

    def __init__(self, pool: pa.Array, text: np.ndarray, quoted: np.ndarray) -> None:
        self.pool = pool
        self.text = text
        self.quoted = quoted

    def take(self, rows: np.ndarray) -> _Texts:
        return _Texts(self.pool, self.text[rows], self.quoted[rows])


def _sent_end_rows(moved: np.ndarray, sent_end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(owner, int value) of the SENT_END_TIME attribute decode_spans adds to the spans whose end moved."""
    rows = np.flatnonzero(moved)
    return rows.astype(np.int32), sent_end[rows].astype(np.int64)


def _attribute_rows(
    owner: np.ndarray, kv: dict[str, pa.Array], max_length: int, extra: tuple[np.ndarray, np.ndarray] | None = None
) -> _Rows:
    """KeyValues (``kv``: key and value fields) of owners (``owner``, sorted) as rows; ``extra`` int
    attributes appended to their owners' lists (after the sent ones, as a dict assignment does)."""
    value = _fields(kv["value"])
    values = _Values(value, max_length, depth=0)
    table = pa.table(
        {
            "key": kv["key"],
            "type": pa.array(values.kind),
            "str": values.strings,
            "int": value["int_value"],
            "double": values.doubles,
            "bool": value["bool_value"],
            "json": values.nested,
        }
    )
    keys = _Keys(kv["key"])
    rows = _Rows(owner, table, keys, keys.codes, values.texts)
    if extra is not None and len(extra[0]):
        rows = _append_ints(rows, extra)
    kept = _distinct_keys(rows.owner, rows.codes)
    return rows if kept is None else rows.take(kept)


class _Values:
    """A column of AnyValues (ptars' struct fields): each one's type, truncated string, finite double, the JSON
    text of arrays, kvlists and bytes (``nested``, null elsewhere; at depth 0 only), and every value's JSON text
    (``texts``)."""

    def __init__(self, value: dict[str, pa.Array], max_length: int, depth: int) -> None:
        count = len(value["string_value"])
        kind = np.full(count, TYPE_EMPTY, np.int8)
        members = np.zeros(count, np.int8)
        for type_code, name in (*_ONEOF, (TYPE_EMPTY, "string_value_strindex")):
            present = _valid(value[name])
            kind[present] = type_code
            members += present
        if (members > 1).any():
            raise _SeveralOfOneof
        self.kind = kind
        self.strings = _truncated(value["string_value"], max_length)
        doubles = value["double_value"]
        self.doubles = doubles
        if doubles.null_count < count:
            self.doubles = pc.if_else(pc.is_finite(doubles), doubles, _lit(None, pa.float64()))
        nested_rows = np.flatnonzero((kind >= TYPE_ARRAY) & (kind <= TYPE_BYTES))
        nested = _nested_json(kind, nested_rows, value, max_length, depth)
        self.texts = self._texts(value, nested_rows, nested)
        self.nested = pa.nulls(count, pa.string())
        if len(nested_rows) and depth == 0:  # only the attributes table shows nested values' text per row
            index = np.zeros(count, np.int64)
            index[nested_rows] = np.arange(len(nested_rows))
            self.nested = nested.take(pa.array(index, mask=~_mask(count, nested_rows)))

    def _texts(self, value: dict[str, pa.Array], nested_rows: np.ndarray, nested: pa.Array) -> _Texts:
        kind = self.kind
        parts = [_value_constants()]
        text = np.full(len(kind), _V["null"], np.int64)  # empty, and the doubles JSON cannot hold
        size = len(_VALUE_CONSTANTS)

        def add(rows: np.ndarray, column: pa.Array, compact: bool) -> None:
            nonlocal size
            if len(rows):
                text[rows] = size + (np.arange(len(rows)) if compact else rows)
                parts.append(column)
                size += len(column)

        add(np.flatnonzero(kind == TYPE_STRING), _escaped(self.strings), compact=False)
        ints = np.flatnonzero(kind == TYPE_INT)
        if len(ints):
            add(ints, pc.cast(value["int_value"].take(pa.array(ints)), pa.string()), compact=True)
        doubles = np.flatnonzero((kind == TYPE_DOUBLE) & _valid(self.doubles))
        if len(doubles):
            add(doubles, _json_doubles(self.doubles.take(pa.array(doubles))), compact=True)
        add(nested_rows, nested, compact=True)
        is_bool = np.flatnonzero(kind == TYPE_BOOL)
        if len(is_bool):
            true = value["bool_value"].take(pa.array(is_bool)).to_numpy(zero_copy_only=False).astype(bool)
            text[is_bool] = np.where(true, _V["true"], _V["false"])
        pool = pa.concat_arrays(parts) if len(parts) > 1 else parts[0]
        return _Texts(pool, text, kind == TYPE_STRING)


_VALUE_CONSTANTS = ("null", "true", "false")
_V = {text: i for i, text in enumerate(_VALUE_CONSTANTS)}


@cache
def _value_constants() -> pa.Array:
    return pa.array(_VALUE_CONSTANTS, pa.string())


def _mask(count: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(count, bool)
    mask[rows] = True
    return mask


def _valid(array: pa.Array) -> np.ndarray:
    """Which values are not null, from the validity bitmap."""
    if not array.null_count:
        return np.ones(len(array), bool)
    if array.null_count == len(array):
        return np.zeros(len(array), bool)
    bitmap = np.frombuffer(array.buffers()[0], np.uint8)
    return np.unpackbits(bitmap, bitorder="little")[array.offset : array.offset + len(array)].astype(bool)


_ONEOF = (
    (TYPE_STRING, "string_value"),
    (TYPE_BOOL, "bool_value"),
    (TYPE_INT, "int_value"),
    (TYPE_DOUBLE, "double_value"),
    (TYPE_ARRAY, "array_value"),
    (TYPE_KVLIST, "kvlist_value"),
    (TYPE_BYTES, "bytes_value"),
)


def _append_ints(rows: _Rows, extra: tuple[np.ndarray, np.ndarray]) -> _Rows:
    """``rows`` with int attributes (key SENT_END_TIME) appended at the end of their owners' rows."""
    extra_owner, ints = extra
    count = len(extra_owner)
    added = pa.table(
        {
            "key": pa.array([SENT_END_TIME] * count, pa.string()),
            "type": pa.array(np.full(count, TYPE_INT, np.int8)),
            "str": pa.nulls(count, pa.string()),
            "int": pa.array(ints, pa.int64()),
            "double": pa.nulls(count, pa.float64()),
            "bool": pa.nulls(count, pa.bool_()),
            "json": pa.nulls(count, pa.string()),
        },
        schema=rows.table.schema,
    )
    keys = rows.keys
    code = keys.code(SENT_END_TIME)
    if code < 0:
        keys.names = pa.concat_arrays([keys.names, pa.array([SENT_END_TIME])])
        keys._lookup = None
        code = len(keys.names) - 1
    values = rows.values
    pool = pa.concat_arrays([values.pool, pc.cast(pa.array(ints), pa.string())])
    text = np.concatenate([values.text, len(values.pool) + np.arange(count)])
    quoted = np.concatenate([values.quoted, np.zeros(count, bool)])
    owners = np.concatenate([rows.owner, extra_owner])
    codes = np.concatenate([rows.codes, np.full(count, code)])
    order = np.argsort(owners, kind="stable")  # stable: each owner's sent rows, then its added one
    table = pa.concat_tables([rows.table, added]).take(pa.array(order))
    return _Rows(owners[order], table, keys, codes[order], _Texts(pool, text, quoted).take(order))


def _distinct_keys(owner: np.ndarray, codes: np.ndarray) -> np.ndarray | None:
    """Rows to keep so each (owner, key code) is one row, at the key's first place with its last value (a dict
    assignment); None when no key repeats (the usual case, found with one sort of integers)."""
    if len(owner) < 2:
        return None
    pairs = owner.astype(np.int64) * (int(codes.max()) + 1) + codes
    ordered = np.sort(pairs)
    if not (ordered[1:] == ordered[:-1]).any():
        return None
    unique, first, inverse = np.unique(pairs, return_index=True, return_inverse=True)
    last = np.zeros(len(unique), np.int64)
    np.maximum.at(last, inverse, np.arange(len(pairs)))
    return np.asarray(last[np.argsort(first, kind="stable")])


def _attribute_table(rows: _Rows) -> pa.Table:
    """The rows in ATTRIBUTE_SCHEMA."""
    columns = [pa.array(rows.owner, pa.int32())] + [rows.table.column(name) for name in ATTRIBUTE_SCHEMA.names[1:]]
    return pa.Table.from_arrays(columns, schema=ATTRIBUTE_SCHEMA)


def _objects(rows: _Rows, owners: int) -> pa.Array:
    """One JSON object per owner (``{}`` for one without attributes), as orjson.dumps of its dict."""
    return _assemble(owners, rows.owner, rows.values, "{", "}", "{}", (rows.keys.names, rows.codes))


def _assemble(
    owners: int,
    owner: np.ndarray,
    values: _Texts,
    start: str,
    end: str,
    empty: str | None,
    keys: tuple[pa.Array, np.ndarray] | None = None,
) -> pa.Array:
    """Per owner, ``start`` + its rows' texts (``"key":value`` when ``keys``: names, codes) joined by "," +
    ``end``; ``empty`` (None: null) when it has no rows. Rows are sorted by owner.

    Each row is three pieces: a prefix (``start`` or "," then the key, then the opening quote of a string),
    its value's text, and a suffix (closing quote, ``end`` after an owner's last row); the prefixes are made
    once per distinct key. One take then builds every owner's text (Arrow's element-wise string kernels cost
    ~100 ns a row here, take a fraction of that)."""
    rows = len(owner)
    counts = np.bincount(owner, minlength=owners) if rows else np.zeros(owners, np.int64)
    row_start = np.zeros(owners + 1, np.int64)
    np.cumsum(counts, out=row_start[1:])
    within = np.arange(rows) - row_start[owner]
    first, last = within == 0, within == counts[owner] - 1
    quoted = values.quoted.astype(np.int64)
    prefixes = _prefixes(start, keys[0] if keys is not None else None)
    distinct = len(prefixes) // 4
    codes = keys[1] if keys is not None else np.zeros(rows, np.int64)
    prefix_base = len(values.pool)
    suffix_base = prefix_base + len(prefixes)
    pool = pa.concat_arrays([values.pool, prefixes, pa.array(["", '"', end, '"' + end, empty or ""], pa.string())])
    sizes = np.where(counts > 0, counts * 3, 1)
    list_start = np.zeros(owners + 1, np.int64)
    np.cumsum(sizes, out=list_start[1:])
    index = np.empty(int(list_start[-1]), np.int64)
    at = list_start[owner] + within * 3
    index[at] = prefix_base + ((1 - first) * 2 + quoted) * distinct + codes
    index[at + 1] = values.text
    index[at + 2] = suffix_base + last * 2 + quoted
    index[list_start[:-1][counts == 0]] = suffix_base + 4
    # The pieces of each owner are contiguous in the take's data: its text is that run, no join needed.
    pieces = pool.take(pa.array(index))
    piece_offsets = np.frombuffer(pieces.buffers()[1], np.int32, len(pieces) + 1, pieces.offset * 4)
    data = pieces.buffers()[2] or pa.py_buffer(b"")
    validity, nulls = None, 0
    if empty is None and (counts == 0).any():
        validity, nulls = pa.py_buffer(np.packbits(counts > 0, bitorder="little")), int((counts == 0).sum())
    offsets = pa.py_buffer(piece_offsets[list_start].astype(np.int32))
    return pa.Array.from_buffers(pa.string(), owners, [validity, offsets, data], nulls)


def _prefixes(start: str, names: pa.Array | None) -> pa.Array:
    """The four prefixes of a row per key: (``start`` | ",") x ("" | '"'), in that order, each then per key.
    Made in Python once per distinct key (a handful per request): orjson writes the key."""
    if names is None:
        return pa.array([start, start + '"', ",", ',"'], pa.string())
    members = [orjson.dumps(name).decode() + ":" for name in names.to_pylist()]
    return pa.array(
        [sep + member + quote for sep in (start, ",") for quote in ("", '"') for member in members], pa.string()
    )


def _truncated(strings: pa.Array, max_length: int) -> pa.Array:
    """Strings longer than ``max_length`` characters cut, with anyvalue.truncate's mark."""
    offsets = _offsets(strings)
    if not (np.diff(offsets) > max_length).any():  # no more bytes than allowed characters: nothing to cut
        return strings
    lengths = pc.utf8_length(strings)
    long = pc.greater(lengths, _lit(max_length, lengths.type))
    if not pc.any(long).as_py():
        return strings
    before, after = TRUNCATION_MARK.split("{cut}")
    middle, tail = after.split("{total}")
    marked = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(strings, 0, max_length),
        _lit(before),
        pc.cast(pc.subtract(lengths, _lit(max_length, lengths.type)), pa.string()),
        _lit(middle),
        pc.cast(lengths, pa.string()),
        _lit(tail),
        _lit(""),
    )
    return pc.if_else(long, marked, strings)


# --- JSON text ---------------------------------------------------------------------------------------------------

_CONTROL = [chr(code) for code in range(0x20)]
_ESCAPED_CONTROL = {char: orjson.dumps(char).decode()[1:-1] for char in _CONTROL}


def _escaped(strings: pa.Array) -> pa.Array:
    """Each string escaped as orjson escapes inside a JSON string (", \\ and U+0000-U+001F only), unquoted.

    Quotes and backslashes (common: JSON inside strings): ``bytes.replace`` on the whole data buffer, with
    the offsets moved by the count of escapes before each string (4x faster than Arrow's replace_substring
    here). Control characters (rare): Arrow's replace_substring, one pass per character present."""
    raw = _data_bytes(strings)
    control = raw < _SPACE
    if control.any():
        return _escaped_slowly(strings, np.unique(raw[control]))
    positions = np.flatnonzero((raw == _QUOTE) | (raw == _BACKSLASH))
    if not len(positions):
        return strings
    data = raw.tobytes().replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    offsets = _offsets(strings)
    starts = offsets - offsets[0]
    moved = (starts + np.searchsorted(positions, starts)).astype(np.int32)
    validity = pa.py_buffer(np.packbits(_valid(strings), bitorder="little")) if strings.null_count else None
    buffers = [validity, pa.py_buffer(moved), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), len(strings), buffers, strings.null_count)


def _escaped_slowly(strings: pa.Array, controls: np.ndarray) -> pa.Array:
    strings = pc.replace_substring(strings, "\\", "\\\\")
    strings = pc.replace_substring(strings, '"', '\\"')
    for code in controls:
        char = chr(code)
        strings = pc.replace_substring(strings, char, _ESCAPED_CONTROL[char])
    return strings


def _offsets(binary: pa.Array) -> np.ndarray:
    """A string or binary array's value offsets (a zero-copy view, with the array's own offset applied)."""
    return np.frombuffer(binary.buffers()[1], np.int32, len(binary) + 1, binary.offset * 4)


def _json_strings(strings: pa.Array) -> pa.Array:
    """Each string (none null) as a JSON string literal."""
    return _concat('"', _escaped(strings), '"')


_BACKSLASH, _QUOTE, _SPACE = np.uint8(0x5C), np.uint8(0x22), np.uint8(0x20)


def _data_bytes(binary: pa.Array) -> np.ndarray:
    """The bytes of a string or binary array's values (a zero-copy view of its data buffer)."""
    offsets = _offsets(binary)
    data = binary.buffers()[2]
    if data is None or not len(binary):
        return np.zeros(0, np.uint8)
    return np.frombuffer(data, np.uint8)[offsets[0] : offsets[-1]]


def _json_doubles(doubles: pa.Array) -> pa.Array:
    """Doubles (none null) as orjson writes them: one orjson call for the column."""
    texts = orjson.dumps(doubles.to_numpy(), option=orjson.OPT_SERIALIZE_NUMPY).decode()[1:-1].split(",")
    return pa.array(texts, pa.string())


MAX_NESTING = 100
"""Levels of arrays and kvlists in one attribute value read before the request is refused. protobuf itself
refuses (parse_protobuf: InvalidRequest) about 47 levels down (its limit of 100 counts every message from the
request down, two per level), so no request protobuf accepts is refused for this."""


def _nested_json(
    kind: np.ndarray, rows: np.ndarray, value: dict[str, pa.Array], max_length: int, depth: int
) -> pa.Array:
    """The JSON text of the arrays, kvlists and bytes at ``rows``, as anyvalue.py writes them. Arrays and kvlists:
    ptars parses their items (which it leaves as serialized bytes) one nesting level at a time, all values of a
    level at once."""
    if not len(rows):
        return pa.nulls(0, pa.string())
    if depth >= MAX_NESTING:
        raise InvalidRequest("body nests values too deeply")
    parts, order = [], []
    for type_code, make in ((TYPE_ARRAY, _arrays_json), (TYPE_KVLIST, _kvlists_json), (TYPE_BYTES, _bytes_json)):
        chosen = rows[kind[rows] == type_code]
        if len(chosen):
            parts.append(make(value[_ONEOF[type_code][1]].take(pa.array(chosen)), max_length, depth + 1))
            order.append(chosen)
    texts = pa.concat_arrays(parts) if len(parts) > 1 else parts[0]
    # back in row order: the i-th of ``rows`` is the rank of its row among the concatenated ones
    return texts.take(pa.array(np.argsort(np.concatenate(order), kind="stable")))


def _bytes_json(values: pa.Array, max_length: int, depth: int) -> pa.Array:
    """Bytes as {"bytesValue": base64}: one b64encode per value (no Arrow kernel does base64)."""
    texts = [orjson.dumps({"bytesValue": base64.b64encode(raw).decode("ascii")}).decode() for raw in values.to_pylist()]
    return pa.array(texts, pa.string())


def _arrays_json(arrays: pa.Array, max_length: int, depth: int) -> pa.Array:
    """ArrayValues (struct<values: list<AnyValue bytes>>) as JSON arrays."""
    lists = pc.struct_field(arrays, "values")
    items = _Values(_fields(_parse(_message_handler("AnyValue"), pc.list_flatten(lists))), max_length, depth)
    owner = pc.list_parent_indices(lists).to_numpy().astype(np.int64)
    return _assemble(len(arrays), owner, items.texts, "[", "]", "[]")


def _kvlists_json(kvlists: pa.Array, max_length: int, depth: int) -> pa.Array:
    """KeyValueLists (struct<values: list<KeyValue bytes, or structs of key and AnyValue bytes>>) as JSON objects."""
    lists = pc.struct_field(kvlists, "values")
    items = pc.list_flatten(lists)
    if pa.types.is_struct(items.type):
        pairs = _fields(items)
        keys, raw_values = pairs["key"], pc.fill_null(pairs["value"], _lit(b""))  # no value: an empty AnyValue
        value = _fields(_parse(_message_handler("AnyValue"), raw_values))
    else:
        pairs = _fields(_parse(_message_handler("KeyValue"), items))
        keys, value = pairs["key"], _fields(pairs["value"])
    texts = _Values(value, max_length, depth).texts
    owner = pc.list_parent_indices(lists).to_numpy().astype(np.int64)
    encoded = _Keys(keys)
    codes = encoded.codes
    kept = _distinct_keys(owner, codes)
    if kept is not None:
        owner, codes, texts = owner[kept], codes[kept], texts.take(kept)
    return _assemble(len(kvlists), owner, texts, "{", "}", "{}", (encoded.names, codes))


def _parse(handler: Any, messages: pa.Array) -> pa.StructArray:
    """Serialized messages -> one struct per message, by ptars; InvalidRequest when one is not a message."""
    return _read(handler.array_to_record_batch, messages).to_struct_array()


def _read(parse: Callable[[Any], pa.RecordBatch], messages: Any) -> pa.RecordBatch:
    """ptars' ``parse`` of ``messages``; InvalidRequest when they are not messages. That includes a panic of
    its Rust code on odd bytes, which pyo3 raises as a BaseException (PanicException), not an Exception."""
    try:
        return parse(messages)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # noqa: BLE001 - see the docstring
        raise InvalidRequest(f"body is not a valid OTLP ExportTraceServiceRequest: {error}") from None


@cache
def _message_handler(name: str) -> Any:
    """ptars' converter for AnyValue or KeyValue, the messages nested values are made of."""
    descriptor: Any = (AnyValue if name == "AnyValue" else KeyValue).DESCRIPTOR
    return ptars.HandlerPool([descriptor.file]).get_for_message(descriptor)


# --- resources, events, links, exceptions, markers ---------------------------------------------------------------


def _string_of(rows: _Rows, key: str, owners: np.ndarray) -> pa.Array:
    """For each of ``owners``, the string value of its attribute ``key`` (null when absent or not a string)."""
    hits = rows.hits(key)
    if not len(hits):
        return pa.nulls(len(owners), pa.string())
    index = np.full(int(rows.owner[-1]) + 1 if len(rows.owner) else 0, -1, np.int64)
    index[rows.owner[hits]] = hits
    chosen = index[owners[owners < len(index)]] if len(index) else np.zeros(0, np.int64)
    chosen = np.concatenate([chosen, np.full(len(owners) - len(chosen), -1, np.int64)])
    return rows.table.column("str").take(pa.array(np.maximum(chosen, 0), mask=chosen < 0)).combine_chunks()


def _markers(rows: _Rows, owners: int) -> tuple[np.ndarray, np.ndarray]:
    """(agentlog marker, logfire marker) per span: normalize.pending_target's rule."""
    spans = np.arange(owners)
    agentlog = _string_of(rows, AGENTLOG_SPAN_TYPE, spans)
    logfire = _string_of(rows, LOGFIRE_SPAN_TYPE, spans)
    marker_self = pc.fill_null(pc.equal(agentlog, _lit("pending")), False).to_numpy(zero_copy_only=False)
    marker_logfire = pc.fill_null(pc.equal(logfire, _lit("pending_span")), False).to_numpy(zero_copy_only=False)
    return marker_self, marker_logfire & ~marker_self


def _lists_json(lists: pa.Array, objects: pa.Array, owners: int) -> pa.Array:
    """Per owner, its items' JSON objects as a JSON array; null when it has none (``... if events else None``)."""
    owner = pc.list_parent_indices(lists).to_numpy().astype(np.int64)
    texts = _Texts(objects, np.arange(len(objects)), np.zeros(len(objects), bool))
    return _assemble(owners, owner, texts, "[", "]", None)


def _concat(*parts: pa.Array | str) -> pa.Array:
    """Row by row, the concatenation of ``parts`` (string columns without nulls, or constants): one take of
    the pieces, whose data is then the result's, cut every ``len(parts)`` pieces."""
    columns = [part for part in parts if not isinstance(part, str)]
    rows = len(columns[0])
    constants = [part for part in parts if isinstance(part, str)]
    pool = pa.concat_arrays([pa.array(constants, pa.string()), *columns])
    index = np.empty((rows, len(parts)), np.int64)
    constant, column = 0, len(constants)
    for slot, part in enumerate(parts):
        if isinstance(part, str):
            index[:, slot] = constant
            constant += 1
        else:
            index[:, slot] = column + np.arange(rows)
            column += rows
    pieces = pool.take(pa.array(index.ravel()))
    piece_offsets = np.frombuffer(pieces.buffers()[1], np.int32, len(pieces) + 1, pieces.offset * 4)
    offsets = pa.py_buffer(np.ascontiguousarray(piece_offsets[:: len(parts)]))
    return pa.Array.from_buffers(pa.string(), rows, [None, offsets, pieces.buffers()[2] or pa.py_buffer(b"")], 0)


def _events_json(owners: _Owners, attributes: pa.Array, spans: int) -> pa.Array:
    """Each span's events as spans._events_json writes them (``attributes``: each event's JSON object)."""
    events = owners.events
    if not len(events["name"]):
        return pa.nulls(spans, pa.string())
    objects = _concat(
        '{"time_unix_nano":',
        pc.cast(events["time_unix_nano"], pa.string()),
        ',"name":',
        _json_strings(events["name"]),
        ',"attributes":',
        attributes,
        ',"dropped_attributes_count":',
        pc.cast(events["dropped_attributes_count"], pa.string()),
        "}",
    )
    return _lists_json(owners.event_lists, objects, spans)


def _links_json(owners: _Owners, attributes: pa.Array, spans: int) -> pa.Array:
    """Each span's links as spans._links_json writes them (``attributes``: each link's JSON object)."""
    links = owners.links
    if not len(links["flags"]):
        return pa.nulls(spans, pa.string())
    objects = _concat(
        '{"trace_id":"',
        _hex(links["trace_id"]),
        '","span_id":"',
        _hex(links["span_id"]),
        '","trace_state":',
        _json_strings(links["trace_state"]),
        ',"flags":',
        pc.cast(links["flags"], pa.string()),
        ',"attributes":',
        attributes,
        ',"dropped_attributes_count":',
        pc.cast(links["dropped_attributes_count"], pa.string()),
        "}",
    )
    return _lists_json(owners.link_lists, objects, spans)


_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", np.uint8)


def _hex(binary: pa.Array) -> pa.Array:
    """Each binary value as lowercase hex (bytes.hex()), from the data buffer at once."""
    offsets = _offsets(binary)
    raw = _data_bytes(binary)
    digits = np.empty(len(raw) * 2, np.uint8)
    digits[0::2] = _HEX_DIGITS[raw >> 4]
    digits[1::2] = _HEX_DIGITS[raw & 15]
    hex_offsets = ((offsets - offsets[0]) * 2).astype(np.int32)
    return pa.StringArray.from_buffers(len(binary), pa.py_buffer(hex_offsets), pa.py_buffer(digits))


_MESSAGE_EVENT_NAMES = pa.array(list(MESSAGE_EVENTS), pa.string())


def _lent(owners: _Owners, attributes: _Rows) -> pa.Table:
    """``FlatSpans.lent``: per span and lent key, the value of the first of its ``MESSAGE_EVENTS`` events that
    has the key (whatever its type), as ``normalize.message_events`` picks it."""
    events = owners.events
    if not len(events["name"]) or not pc.any(pc.is_in(events["name"], value_set=_MESSAGE_EVENT_NAMES)).as_py():
        return ATTRIBUTE_SCHEMA.empty_table()  # one kernel call for a request without such events
    event_span = pc.list_parent_indices(owners.event_lists).to_numpy()
    first_event, count = owners.base["event"], len(owners.lists["event"])
    picked: list[tuple[np.ndarray, np.ndarray, str]] = []
    for lent_as in EVENT_KEYS:
        hits, of_event = [], []
        for name, pairs in MESSAGE_EVENTS.items():
            for key in (key for key, as_ in pairs if as_ == lent_as):
                rows = np.flatnonzero(attributes.codes == attributes.keys.code(key))
                event = attributes.owner[rows] - first_event
                rows, event = rows[(event >= 0) & (event < count)], event[(event >= 0) & (event < count)]
                named = pc.fill_null(pc.equal(events["name"].take(pa.array(event)), _lit(name)), False)
                is_named = named.to_numpy(zero_copy_only=False)
                hits.append(rows[is_named])
                of_event.append(event[is_named])
        row, event = np.concatenate(hits), np.concatenate(of_event)
        order = np.argsort(event, kind="stable")  # events are numbered span by span, in each span's order
        spans, first = np.unique(event_span[event[order]], return_index=True)
        picked.append((row[order][first], spans, lent_as))
    rows = np.concatenate([row for row, _, _ in picked])
    values = attributes.table.take(pa.array(rows, pa.int64()))
    columns = [
        pa.array(np.concatenate([spans for _, spans, _ in picked]), pa.int32()),
        pa.array([lent_as for _, spans, lent_as in picked for _ in range(len(spans))], pa.string()),
    ] + [values.column(name) for name in ATTRIBUTE_SCHEMA.names[2:]]
    return pa.Table.from_arrays(columns, schema=ATTRIBUTE_SCHEMA)


def _exceptions(owners: _Owners, status_code: pa.Array, attributes: _Rows) -> pa.Table:
    """EXCEPTION_SCHEMA rows: for ERROR spans, the first "exception" event's type and message strings."""
    events = owners.events
    if not len(events["name"]):
        return EXCEPTION_SCHEMA.empty_table()
    event_span = pc.list_parent_indices(owners.event_lists).to_numpy()
    error = (status_code.to_numpy(zero_copy_only=False) == STATUS_ERROR)[event_span]
    candidate = pc.equal(events["name"], _lit("exception")).to_numpy(zero_copy_only=False) & error
    rows = np.flatnonzero(candidate)
    spans, first = np.unique(event_span[rows], return_index=True)
    chosen = rows[first] + owners.base["event"]
    return pa.table(
        {
            "span": pa.array(spans, pa.int32()),
            "type": _string_of(attributes, "exception.type", chosen),
            "message": _string_of(attributes, "exception.message", chosen),
        },
        schema=EXCEPTION_SCHEMA,
    )
