"""Columnar inputs (spans, attributes, exceptions tables) built from Python values, and the normalize oracle.

Values are typed as ``anyvalue`` types OTLP values: str, bool, int, float, list
(array), dict (kvlist), bytes (bytes value, handed to ``normalize`` as
``{"bytesValue": <base64>}``), None (no value set). The schemas are the shared
interface's (agentlog issue 19, ``proto.columnar``); the rows are built here, not by the decoder.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa

from agentlog.proto.columnar import ATTRIBUTE_SCHEMA, EXCEPTION_SCHEMA
from agentlog.proto.conventions import BUILT_IN, Conventions
from agentlog.proto.normalize import normalize
from agentlog.proto.spans import SpanBatch

SPAN_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("start_time_unix_nano", pa.uint64()),
        ("status_code", pa.uint8()),
        ("status_message", pa.string()),
    ]
)


@dataclass
class SpanInput:
    """One span as ``normalize`` is given it; ``attributes`` as (key, value) pairs, a repeated key allowed."""

    name: str
    attributes: Sequence[tuple[str, Any]]
    status_code: int = 0
    status_message: str = ""
    exception: dict[str, Any] | None = None
    start: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def python_value(value: Any) -> Any:
    """The value as ``attributes_to_python`` hands it to ``normalize``."""
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode("ascii")}
    if isinstance(value, list):
        return [python_value(item) for item in value]
    if isinstance(value, dict):
        return {key: python_value(item) for key, item in value.items()}
    return value


def attribute_row(span: int, key: str, value: Any) -> dict[str, Any]:
    """One ATTRIBUTE_SCHEMA row."""
    row: dict[str, Any] = {"span": span, "key": key}
    if isinstance(value, str):
        row.update(type=0, str=value)
    elif isinstance(value, bool):
        row.update(type=1, bool=value)
    elif isinstance(value, int):
        row.update(type=2, int=value)
    elif isinstance(value, float):
        row.update(type=3, double=value if math.isfinite(value) else None)
    elif isinstance(value, list):
        row.update(type=4, json=orjson.dumps(python_value(value)).decode())
    elif isinstance(value, dict):
        row.update(type=5, json=orjson.dumps(python_value(value)).decode())
    elif isinstance(value, bytes):
        row.update(type=6, json=orjson.dumps(python_value(value)).decode())
    elif value is None:
        row.update(type=7)
    else:
        raise TypeError(f"no OTLP value for {value!r}")
    return row


def tables(spans: Sequence[SpanInput]) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(spans, attributes, exceptions) tables for ``canonical_table``."""
    span_table = pa.Table.from_pylist(
        [
            {
                "name": s.name,
                "start_time_unix_nano": s.start,
                "status_code": s.status_code,
                "status_message": s.status_message or None,
            }
            for s in spans
        ],
        schema=SPAN_SCHEMA,
    )
    rows = [attribute_row(i, key, value) for i, s in enumerate(spans) for key, value in s.attributes]
    exceptions = [
        {
            "span": i,
            "type": _str_or_none(s.exception, "exception.type"),
            "message": _str_or_none(s.exception, "exception.message"),
        }
        for i, s in enumerate(spans)
        if s.exception is not None and s.status_code == 2
    ]
    return (
        span_table,
        pa.Table.from_pylist(rows, schema=ATTRIBUTE_SCHEMA),
        pa.Table.from_pylist(exceptions, schema=EXCEPTION_SCHEMA),
    )


def _str_or_none(attributes: dict[str, Any], key: str) -> str | None:
    value = attributes.get(key)
    return value if isinstance(value, str) else None


def from_batch(batch: SpanBatch) -> list[SpanInput]:
    """The spans ``decode_spans`` decoded, from its stored columns (attributes, events) back to inputs.

    JSON loses two distinctions, neither in the factories' or the benchmark's spans:
    bytes values come back as kvlists, NaN/Inf doubles as no value.
    """
    spans = []
    for i in range(len(batch)):
        exception = None
        events_json = batch.events[i]
        if batch.status_code[i] == 2 and events_json is not None:
            events = orjson.loads(events_json)
            exception = next((e["attributes"] for e in events if e["name"] == "exception"), None)
        spans.append(
            SpanInput(
                batch.name[i],
                list(orjson.loads(batch.attributes[i]).items()),
                batch.status_code[i],
                batch.status_message[i] or "",
                exception,
                batch.start_time_unix_nano[i],
            )
        )
    return spans


def oracle(spans: Sequence[SpanInput], max_length: int, conventions: Conventions = BUILT_IN) -> list[dict[str, Any]]:
    """``normalize`` span by span, as rows."""
    return [
        normalize(
            s.name,
            {key: python_value(value) for key, value in s.attributes},
            s.status_code,
            s.status_message,
            python_value(s.exception) if s.exception is not None and s.status_code == 2 else None,
            s.start,
            max_length,
            conventions,
        )._asdict()
        for s in spans
    ]
