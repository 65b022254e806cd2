"""Arrow columns as JSON values: every type DuckDB returns, with no value that can fail to convert.

pyarrow's own ``to_pylist`` goes through Python's ``datetime``, which holds
years 1-9999 only, and gives intervals and maps as tuples JSON has no word
for. Here each type has one JSON shape:

- TIMESTAMP: ISO 8601, ``2024-01-02T03:04:05.123456`` (fraction only when not
  zero, to the column's precision); TIMESTAMPTZ the same in UTC with ``Z``;
  DATE ``2024-01-02``; TIME ``03:04:05.5``. Years outside 0000-9999 take
  ISO 8601's expanded form (``+294247-01-10T04:00:54``, ``-0100-03-01``,
  astronomical years); DuckDB's infinite times are ``"infinity"`` and
  ``"-infinity"``.
- INTERVAL: an ISO 8601 duration, each part with its own sign as DuckDB keeps
  them: ``P1Y2M3DT4H5M6.5S``, ``P-1DT2H``, ``PT0S``.
- DECIMAL, HUGEINT, UHUGEINT, VARINT: exact decimal strings (``"12.345"``).
- DOUBLE/FLOAT NaN and infinities: ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
- BLOB: hex; BIT: its bits as ``"0101"``; UUID and ENUM: strings.
- LIST and ARRAY: arrays; STRUCT: objects; MAP: an array of
  ``{"key": ..., "value": ...}``; UNION: the value of its current member.
- TIMETZ: Arrow has no time with an offset, so ``sql_console.run_sql`` turns
  it (at any depth) into DuckDB's own text before Arrow (``"12:00:00+05"``);
  an Arrow time given here directly is its time of day.
- NULL: ``null``; other numbers, strings and booleans as themselves.

DuckDB's own type of each top-level column, when the caller attaches it to
the field's metadata (``DUCKDB_TYPE``), tells UHUGEINT and BIT from what Arrow
carries them as (a 128-bit decimal, bytes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pyarrow as pa

DUCKDB_TYPE = b"duckdb.type"

_INT64_MAX = 2**63 - 1
_INT32_MAX = 2**31 - 1
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}
_NS_PER_HOUR = 3_600_000_000_000
_NS_PER_MINUTE = 60_000_000_000
_NS_PER_SECOND = 1_000_000_000
_UHUGEINT = 2**128


def table_rows(table: pa.Table) -> list[list[Any]]:
    """The table's rows as lists of JSON values."""
    columns = [field_values(column, field) for column, field in zip(table.columns, table.schema, strict=True)]
    return [list(row) for row in zip(*columns, strict=True)] if columns else [[] for _ in range(table.num_rows)]


def table_records(table: pa.Table) -> list[dict[str, Any]]:
    """The table's rows as objects of JSON values, by column name."""
    names = table.column_names
    return [dict(zip(names, row, strict=True)) for row in table_rows(table)]


def field_values(column: pa.ChunkedArray | pa.Array, field: pa.Field) -> list[Any]:
    """One column's values as JSON values."""
    duckdb_type = (field.metadata or {}).get(DUCKDB_TYPE, b"").decode()
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    values = [value for chunk in chunks for value in array_values(chunk)]
    if duckdb_type == "UHUGEINT":  # Arrow carries it as a signed 128-bit decimal
        return [None if v is None else str(int(v) + _UHUGEINT) if v.startswith("-") else v for v in values]
    if duckdb_type == "BIT":
        return [None if v is None else _bits(bytes.fromhex(v)) for v in values]
    return values


def array_values(array: pa.Array) -> list[Any]:
    """An Arrow array's values as JSON values (see the module docstring for each type's shape)."""
    kind = array.type
    if pa.types.is_struct(kind):
        return _struct(array)
    if pa.types.is_map(kind):
        return _lists(array, _map_entries(array))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _lists(array, array_values(array.values))
    if pa.types.is_fixed_size_list(kind):
        return _fixed_lists(array)
    if pa.types.is_union(kind):
        return _union(array)
    if pa.types.is_dictionary(kind):
        names = array_values(array.dictionary)
        return [None if index is None else names[index] for index in array.indices.to_pylist()]
    if isinstance(kind, pa.BaseExtensionType):
        if getattr(kind, "type_name", None) == "bignum":
            return [None if value is None else _bignum(value) for value in array.storage.to_pylist()]
        return array_values(array.storage)
    convert = _leaf_converter(kind)
    return [None if value is None else convert(value) for value in _raw(array)]


def _raw(array: pa.Array) -> list[Any]:
    """Plain Python values that cannot fail to convert: times as integers in their unit."""
    kind = array.type
    if pa.types.is_timestamp(kind) or pa.types.is_duration(kind) or pa.types.is_time64(kind):
        return array.cast(pa.int64()).to_pylist()  # type: ignore[no-any-return]
    if pa.types.is_date32(kind) or pa.types.is_time32(kind):
        return array.cast(pa.int32()).to_pylist()  # type: ignore[no-any-return]
    if pa.types.is_date64(kind):
        return array.cast(pa.int64()).to_pylist()  # type: ignore[no-any-return]
    return array.to_pylist()  # type: ignore[no-any-return]


def _leaf_converter(kind: pa.DataType) -> Callable[[Any], Any]:
    if pa.types.is_timestamp(kind):
        unit, zone = kind.unit, "Z" if kind.tz else ""
        return lambda value: _timestamp(value, unit, zone)
    if pa.types.is_date32(kind):
        return _date
    if pa.types.is_date64(kind):
        return lambda value: _date(value // 86_400_000)
    if pa.types.is_time32(kind) or pa.types.is_time64(kind):
        unit = kind.unit
        return lambda value: _clock(value, unit)
    if pa.types.is_duration(kind):
        per_ns = _NS_PER_SECOND // _PER_SECOND[kind.unit]
        return lambda value: _interval(0, 0, value * per_ns)
    if kind == pa.month_day_nano_interval():
        return lambda value: _interval(value.months, value.days, value.nanoseconds)
    if pa.types.is_decimal(kind):
        return lambda value: format(value, "f")
    if pa.types.is_floating(kind):
        return _float
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return lambda value: value.hex()
    return _plain


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return value.hex()
    return value


def _float(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _struct(array: pa.StructArray) -> list[Any]:
    names = [array.type.field(i).name for i in range(array.type.num_fields)]
    children = [array_values(child) for child in array.flatten()]  # flatten applies the struct's own nulls
    valid = array.is_valid().to_pylist()
    rows = zip(*children, strict=True) if children else ([] for _ in range(len(array)))
    return [dict(zip(names, row, strict=True)) if ok else None for row, ok in zip(rows, valid, strict=True)]


def _map_entries(array: pa.MapArray) -> list[Any]:
    keys, items = array_values(array.keys), array_values(array.items)
    return [{"key": key, "value": item} for key, item in zip(keys, items, strict=True)]


def _lists(array: pa.ListArray | pa.LargeListArray | pa.MapArray, values: list[Any]) -> list[Any]:
    """Split ``values`` (the array's whole child, unsliced) at the array's offsets."""
    offsets = array.offsets.to_pylist()
    valid = array.is_valid().to_pylist()
    return [values[offsets[i] : offsets[i + 1]] if valid[i] else None for i in range(len(array))]


def _fixed_lists(array: pa.FixedSizeListArray) -> list[Any]:
    size = array.type.list_size
    values = array_values(array.values)
    valid = array.is_valid().to_pylist()
    start = array.offset
    return [values[(start + i) * size : (start + i + 1) * size] if valid[i] else None for i in range(len(array))]


def _union(array: pa.UnionArray) -> list[Any]:
    codes = array.type_codes.to_pylist()
    children = {code: array_values(array.field(i)) for i, code in enumerate(array.type.type_codes)}
    dense = array.type.mode == "dense"
    positions = array.offsets.to_pylist() if dense else range(array.offset, array.offset + len(array))
    return [children[code][position] for code, position in zip(codes, positions, strict=True)]


def _bignum(storage: bytes) -> str:
    """DuckDB's VARINT storage: a 3-byte header whose top bit is the sign, then the magnitude big-endian,
    every byte inverted when negative."""
    negative = not storage[0] & 0x80
    body = bytes(~byte & 0xFF for byte in storage[3:]) if negative else storage[3:]
    magnitude = int.from_bytes(body, "big")
    return str(-magnitude if negative else magnitude)


def _bits(storage: bytes) -> str:
    """DuckDB's BIT storage: a first byte counting the padding bits that open the second."""
    if not storage:
        return ""
    text = "".join(f"{byte:08b}" for byte in storage[1:])
    return text[storage[0] :]


def _timestamp(value: int, unit: str, zone: str) -> str:
    if abs(value) == _INT64_MAX:
        return "infinity" if value > 0 else "-infinity"
    seconds, fraction = divmod(value, _PER_SECOND[unit])
    days, clock = divmod(seconds, 86_400)
    digits = _DIGITS[unit]
    text = f"{_date(days)}T{clock // 3600:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}"
    return text + (f".{fraction:0{digits}d}" if fraction else "") + zone


def _clock(value: int, unit: str) -> str:
    seconds, fraction = divmod(value, _PER_SECOND[unit])
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return text + (f".{fraction:0{_DIGITS[unit]}d}".rstrip("0") if fraction else "")


def _date(days: int) -> str:
    if abs(days) == _INT32_MAX:
        return "infinity" if days > 0 else "-infinity"
    year, month, day = _civil(days)
    if 0 <= year <= 9999:
        return f"{year:04d}-{month:02d}-{day:02d}"
    return f"{'+' if year > 0 else '-'}{abs(year):04d}-{month:02d}-{day:02d}"


def _civil(days: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 as a proleptic Gregorian (year, month, day), any year (H. Hinnant's algorithm)."""
    shifted = days + 719_468
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    return year_of_era + era * 400 + (month <= 2), month, day


def _interval(months: int, days: int, nanoseconds: int) -> str:
    years, months = _toward_zero(months, 12)
    hours, rest = _toward_zero(nanoseconds, _NS_PER_HOUR)
    minutes, rest = _toward_zero(rest, _NS_PER_MINUTE)
    date = "".join(f"{n}{unit}" for n, unit in ((years, "Y"), (months, "M"), (days, "D")) if n)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n)
    if rest:
        whole, fraction = divmod(abs(rest), _NS_PER_SECOND)
        time += ("-" if rest < 0 else "") + str(whole) + (f".{fraction:09d}".rstrip("0") if fraction else "") + "S"
    if not date and not time:
        return "PT0S"
    return "P" + date + ("T" + time if time else "")


def _toward_zero(value: int, unit: int) -> tuple[int, int]:
    """``divmod`` rounding toward zero, so each part keeps the sign of the whole."""
    whole = abs(value) // unit
    sign = -1 if value < 0 else 1
    return sign * whole, value - sign * whole * unit
