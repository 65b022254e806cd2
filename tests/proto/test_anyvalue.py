from __future__ import annotations

import math

from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from agentlog.proto.anyvalue import attributes_to_python, truncate, value_to_python
from tests.factories import any_value, key_values


def test_every_anyvalue_type_keeps_its_json_type() -> None:
    attributes = {
        "s": "text",
        "i": -(2**63),
        "f": 2.0,
        "b": False,
        "raw": b"\x00\xff",
        "arr": [1, "two", 3.5, True],
        "nested": {"inner": {"deep": [{"k": 1}]}},
    }
    assert attributes_to_python(key_values(attributes), 1000) == {
        "s": "text",
        "i": -(2**63),
        "f": 2.0,
        "b": False,
        "raw": {"bytesValue": "AP8="},
        "arr": [1, "two", 3.5, True],
        "nested": {"inner": {"deep": [{"k": 1}]}},
    }


def test_an_empty_anyvalue_is_null() -> None:
    assert value_to_python(AnyValue(), 10) is None


def test_a_repeated_key_keeps_the_last_value() -> None:
    kvs = key_values({"a": 1}) + key_values({"a": 2})
    assert attributes_to_python(kvs, 10) == {"a": 2}


def test_long_strings_are_cut_and_say_so_at_any_depth() -> None:
    value = value_to_python(any_value({"list": ["x" * 50]}), 10)
    assert value == {"list": ["x" * 10 + "…[agentlog: truncated 40 of 50 characters]"]}
    assert truncate("short", 10) == "short"


def test_doubles_json_cannot_hold_are_kept_as_floats_for_the_encoder() -> None:
    assert math.isnan(value_to_python(AnyValue(double_value=math.nan), 10))  # type: ignore[arg-type]
