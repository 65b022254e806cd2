"""Hypothesis strategies and hand-made protobuf for OTLP values, shared by the decoders' tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def scalars(text: st.SearchStrategy[str]) -> st.SearchStrategy[AnyValue | None]:
    """Every scalar AnyValue (NaN and infinities included), or no value at all."""
    return st.one_of(
        st.none(),
        text.map(lambda s: AnyValue(string_value=s)),
        st.booleans().map(lambda b: AnyValue(bool_value=b)),
        st.integers(-(2**63), 2**63 - 1).map(lambda i: AnyValue(int_value=i)),
        st.floats(allow_nan=True, allow_infinity=True).map(lambda f: AnyValue(double_value=f)),
        st.binary(max_size=20).map(lambda b: AnyValue(bytes_value=b)),
    )


def array_value(values: list[Any]) -> AnyValue:
    """An array AnyValue of ``values`` (None: an AnyValue with nothing set)."""
    out = AnyValue()
    out.array_value.values.extend(v or AnyValue() for v in values)
    return out


def protobuf_field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field, encoded by hand (upb will not build what it refuses to parse)."""
    length, varint = len(payload), bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        varint.append(byte | (0x80 if length else 0))
        if not length:
            break
    return bytes([number << 3 | 2]) + bytes(varint) + payload
