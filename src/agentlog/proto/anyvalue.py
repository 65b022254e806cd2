"""OTLP ``AnyValue`` and attribute lists -> plain Python values that JSON can hold.

Each OTLP type keeps its JSON type, so DuckDB's ``json_type`` tells them apart:
string -> string, bool -> boolean, int -> integer, double -> number with a
fraction (orjson writes ``1.0``), array -> array, kvlist -> object. Bytes have
no JSON type: they become ``{"bytesValue": "<base64>"}``, the OTLP/JSON spelling.
A double that JSON cannot hold (NaN, +-Inf) is stored as null.

Strings longer than the attribute limit are cut, and the cut says so.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any, TypeAlias

JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None

TRUNCATION_MARK = "…[agentlog: truncated {cut} of {total} characters]"


def truncate(text: str, max_length: int) -> str:
    """``text`` cut to ``max_length`` characters followed by a mark saying how much was cut."""
    if len(text) <= max_length:
        return text
    return text[:max_length] + TRUNCATION_MARK.format(cut=len(text) - max_length, total=len(text))


def value_to_python(value: Any, max_length: int) -> JSONValue:
    """One ``AnyValue`` message as a JSON-able Python value."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        text: str = value.string_value
        return text if len(text) <= max_length else truncate(text, max_length)
    if kind == "int_value":
        return int(value.int_value)
    if kind == "bool_value":
        return bool(value.bool_value)
    if kind == "double_value":
        return float(value.double_value)
    if kind == "array_value":
        return [value_to_python(item, max_length) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_to_python(value.kvlist_value.values, max_length)
    if kind == "bytes_value":
        return {"bytesValue": base64.b64encode(value.bytes_value).decode("ascii")}
    return None


def attributes_to_python(key_values: Iterable[Any], max_length: int) -> dict[str, JSONValue]:
    """A repeated ``KeyValue`` as a dict; a repeated key keeps its last value."""
    return {kv.key: value_to_python(kv.value, max_length) for kv in key_values}
