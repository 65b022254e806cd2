"""One export request -> one Arrow table of span rows: the write path's one entry point.

Both transports, both encodings and the exporter's embedded mode call
``decode_request``; what it returns is what the store inserts (``SPAN_ROWS``).
No Python runs per span: ``columnar.flatten_request`` turns the protobuf
bytes into flat Arrow tables in native code and whole-column kernels, and
``canonical.canonical_table`` reads the conventions off them the same way.
OTLP/JSON is first turned into the protobuf message it spells (``parse_json``)
and serialized, so both encodings take one decoder from there.

``to_arrow`` (of ``spans.decode_spans``' rows) is the span-by-span path these
replaced; the tests keep it as the oracle the columnar path must equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa

from agentlog.errors import InvalidRequest
from agentlog.proto.canonical import CANONICAL_SCHEMA, canonical_table
from agentlog.proto.columnar import SPAN_SCHEMA, flatten_request, flatten_requests
from agentlog.proto.conventions import BUILT_IN, Conventions
from agentlog.proto.ids import trace_id_bytes
from agentlog.proto.otlp import parse_json
from agentlog.proto.spans import SpanBatch, rejection_message

Encoding = Literal["protobuf", "json"]

SPAN_ROWS = pa.schema([pa.field("tenant_id", pa.string()), *SPAN_SCHEMA, *CANONICAL_SCHEMA])
"""A span row as the store inserts it: the OTLP columns, ``is_pending``, then the canonical ones."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """The rows of one request (``table`` None when it had no valid span) and what was rejected."""

    table: pa.Table | None
    rejected: int
    message: str
    """``partial_success.error_message``: empty when nothing was rejected."""


def decode_request(
    body: bytes, encoding: Encoding, tenant_id: str, max_attribute_length: int, conventions: Conventions = BUILT_IN
) -> Decoded:
    """Parse and decode one export request, its canonical columns by ``conventions``; InvalidRequest when
    the body is not one."""
    flat = flatten_request(_protobuf(body, encoding), max_attribute_length)
    message = rejection_message(flat.rejected, flat.reasons)
    if not flat.spans.num_rows:
        return Decoded(None, flat.rejected, message)
    canonical = canonical_table(
        flat.spans, flat.attributes, flat.exceptions, max_attribute_length, flat.lent, conventions
    )
    return Decoded(_assemble(tenant_id, flat.spans, canonical), flat.rejected, message)


def decode_requests(
    requests: Sequence[tuple[bytes, Encoding, str]], max_attribute_length: int, conventions: Conventions = BUILT_IN
) -> list[Decoded | InvalidRequest]:
    """Several (body, encoding, tenant) requests at once: for each, what ``decode_request`` gives, or the
    InvalidRequest it raises. One pass over all of them (cheaper a span: ``flatten_requests``); should one
    body not decode, each is decoded alone, so that only it fails."""
    if len(requests) > 1:
        try:
            return _decode_together(requests, max_attribute_length, conventions)
        except InvalidRequest:
            pass
    return [
        _decode_alone(body, encoding, tenant_id, max_attribute_length, conventions)
        for body, encoding, tenant_id in requests
    ]


def _decode_together(
    requests: Sequence[tuple[bytes, Encoding, str]], max_attribute_length: int, conventions: Conventions
) -> list[Decoded | InvalidRequest]:
    bodies = [_protobuf(body, encoding) for body, encoding, _ in requests]
    flat = flatten_requests(bodies, max_attribute_length)
    canonical = None
    if flat.spans.num_rows:
        canonical = canonical_table(
            flat.spans, flat.attributes, flat.exceptions, max_attribute_length, flat.lent, conventions
        )
    decoded: list[Decoded | InvalidRequest] = []
    offset = 0
    for (_, _, tenant_id), part in zip(requests, flat.parts, strict=True):
        message = rejection_message(part.rejected, part.reasons)
        if not part.spans or canonical is None:
            decoded.append(Decoded(None, part.rejected, message))
            continue
        spans, columns = flat.spans.slice(offset, part.spans), canonical.slice(offset, part.spans)
        decoded.append(Decoded(_assemble(tenant_id, spans, columns), part.rejected, message))
        offset += part.spans
    return decoded


def _decode_alone(
    body: bytes, encoding: Encoding, tenant_id: str, max_attribute_length: int, conventions: Conventions
) -> Decoded | InvalidRequest:
    try:
        return decode_request(body, encoding, tenant_id, max_attribute_length, conventions)
    except InvalidRequest as error:
        return error


def _protobuf(body: bytes, encoding: Encoding) -> bytes:
    """The request as protobuf bytes: OTLP/JSON is parsed into the message it spells and serialized."""
    return parse_json(body).SerializeToString() if encoding == "json" else body


def _assemble(tenant_id: str, spans: pa.Table, canonical: pa.Table) -> pa.Table:
    """``SPAN_ROWS``: the tenant, the OTLP columns, the canonical ones."""
    tenant = pa.repeat(pa.scalar(tenant_id, pa.string()), spans.num_rows)
    return pa.Table.from_arrays([tenant, *spans.columns, *canonical.columns], schema=SPAN_ROWS)


def to_arrow(batch: SpanBatch, tenant_id: str) -> pa.Table:
    """One request's spans as an Arrow table in ``SPAN_ROWS``."""
    n = len(batch)
    columns: dict[str, Any] = {
        "tenant_id": [tenant_id] * n,
        "trace_id": [trace_id_bytes(trace_id) for trace_id in batch.trace_id],
    }
    canonical = batch.canonical_columns()
    for field in SPAN_ROWS.names[2:]:  # after tenant_id and trace_id
        columns[field] = canonical[field] if field in canonical else getattr(batch, field)
    return pa.Table.from_pydict(columns, schema=SPAN_ROWS)
