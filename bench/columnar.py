"""Floors of a columnar write path (issue: columnar ingest), stage by stage, on ingest.py's request.

    .venv/bin/python bench/columnar.py                 # ~1 min
    .venv/bin/python bench/columnar.py --batches 16 --json /tmp/columnar.json

Written before the columnar write path, to choose its design on figures,
when every span was walked in Python (``decode_spans``, ~18 µs a span); the
product now decodes as ``proto/columnar.py`` and ``proto/canonical.py`` do,
and ``ingest.py`` times its stages. The variants this measures: request
bytes become nested Arrow in native code (ptars), then DuckDB or Arrow
flatten them and the conventions are read in SQL. Each stage is timed alone, on one core, over ``--batches``
transactions of ``--requests-per-batch`` requests (8 x 512 spans, as the
writer batches today), and reported per span:

- ``ptars``: request bytes -> one nested Arrow record batch per transaction;
- ``flatten (DuckDB unnest)``: one row per span (ids split into the stored
  integers, resource and scope fields, status), the attributes kept as a list
  of structs, by ``unnest`` in DuckDB;
- ``flatten (Arrow)``: the spans and their attributes as flat Arrow arrays by
  ``pyarrow.compute.list_flatten`` / ``list_parent_indices`` (zero-copy views
  of ptars' buffers: one row per span, one row per attribute with its span's row);
- ``lookups (list_filter)``: every canonical column of the conventions table
  (each a ``coalesce`` over its keys, in precedence order), one
  ``list_filter`` over the span's attributes per key;
- ``lookups (pivot)``: the same columns from one unnest of the attributes and
  a grouped ``FILTER`` aggregate per key;
- ``lookups (key join)``: the same columns from the flat attribute rows joined
  to a table of (key, column, rank), ``arg_min`` by rank per span and column,
  then one row per span;
- ``attributes JSON``: the attribute list as the stored JSON text;
- ``insert + commit``: the finished rows into a table of the stored schema's
  width, one transaction per batch, on a file;
- ``insert + commit (nested)``: the same rows with the attributes stored as
  ptars gives them (a list of key/value structs) instead of JSON text;
- ``checkpoint``: one CHECKPOINT after all batches (automatic checkpoints are
  held off), per row written to the two tables.

The old path's floor for comparison is ``ingest.py``'s decode + to_arrow
baselines (printed here too, same run). Nothing here is the product: it is a
measurement of what the stages cost at least, to choose the design on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import ptars
import pyarrow as pa
import pyarrow.compute as pc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import ingest
from agentlog.proto import conventions
from agentlog.proto.rows import to_arrow
from agentlog.proto.spans import decode_spans

# Canonical string and integer columns and their keys, first match wins (conventions.py's table).
STRING_COLUMNS = {
    "agent_name": conventions.AGENT_NAME,
    "agent_id": conventions.AGENT_ID,
    "model": conventions.MODEL,
    "provider": conventions.PROVIDER,
    "input": conventions.INPUT,
    "output": conventions.OUTPUT,
    "user_id": conventions.USER_ID,
    "session_id": conventions.SESSION_ID,
    "tool_name": conventions.TOOL_NAME,
    "operation": tuple(key for key, _ in conventions.NODE_TYPE_KEYS),
}
INT_COLUMNS = {
    "input_tokens": conventions.INPUT_TOKENS,
    "output_tokens": conventions.OUTPUT_TOKENS,
    "cache_read_tokens": conventions.CACHE_READ_TOKENS,
    "cache_write_tokens": conventions.CACHE_WRITE_TOKENS,
    "reasoning_tokens": conventions.REASONING_TOKENS,
    "total_tokens": conventions.TOTAL_TOKENS,
    "aggregated_input_tokens": conventions.AGGREGATED_INPUT_TOKENS,
    "aggregated_output_tokens": conventions.AGGREGATED_OUTPUT_TOKENS,
}

FLATTEN = """
CREATE OR REPLACE TEMP TABLE flat AS
WITH resources AS (SELECT unnest(resource_spans) AS rs FROM batch),
scopes AS (SELECT rs.resource.attributes AS resource_attributes, unnest(rs.scope_spans) AS ss FROM resources),
spans AS (SELECT resource_attributes, ss.scope.name AS scope_name, ss.scope.version AS scope_version,
                 unnest(ss.spans) AS s FROM scopes)
SELECT
    ('0x' || hex(s.trace_id[1:8]))::UBIGINT AS trace_id_hi,
    ('0x' || hex(s.trace_id[9:16]))::UBIGINT AS trace_id_lo,
    ('0x' || hex(s.span_id))::UBIGINT AS span_id,
    CASE WHEN octet_length(s.parent_span_id) = 8 THEN ('0x' || hex(s.parent_span_id))::UBIGINT END AS parent_span_id,
    s.name, s.kind, s.start_time_unix_nano, s.end_time_unix_nano, s.status.code AS status_code,
    s.status.message AS status_message, scope_name, scope_version,
    list_filter(resource_attributes, a -> a.key = 'service.name')[1].value.string_value AS service_name,
    s.attributes, s.events
FROM spans
"""

ATTRIBUTES_JSON = """
SELECT to_json(map_from_entries(list_transform(attributes, a -> {'k': a.key, 'v': coalesce(
    to_json(a.value.string_value), to_json(a.value.int_value), to_json(a.value.double_value),
    to_json(a.value.bool_value))})))::VARCHAR AS attributes_json
FROM flat
"""


def _list_filter_column(keys: tuple[str, ...], field: str) -> str:
    looked = [f"list_filter(attributes, a -> a.key = '{key}')[1].value.{field}" for key in keys]
    return f"coalesce({', '.join(looked)})" if len(looked) > 1 else looked[0]


def lookups_list_filter_sql() -> str:
    columns = [f"{_list_filter_column(keys, 'string_value')} AS {name}" for name, keys in STRING_COLUMNS.items()]
    columns += [f"{_list_filter_column(keys, 'int_value')} AS {name}" for name, keys in INT_COLUMNS.items()]
    return "SELECT trace_id_lo, span_id, " + ", ".join(columns) + " FROM flat"


def _pivot_column(keys: tuple[str, ...], field: str) -> str:
    looked = [f"any_value(a.value.{field}) FILTER (a.key = '{key}')" for key in keys]
    return f"coalesce({', '.join(looked)})" if len(looked) > 1 else looked[0]


def lookups_pivot_sql() -> str:
    known = sorted({key for keys in (*STRING_COLUMNS.values(), *INT_COLUMNS.values()) for key in keys})
    columns = [f"{_pivot_column(keys, 'string_value')} AS {name}" for name, keys in STRING_COLUMNS.items()]
    columns += [f"{_pivot_column(keys, 'int_value')} AS {name}" for name, keys in INT_COLUMNS.items()]
    listed = ", ".join(f"'{key}'" for key in known)
    return (
        "WITH numbered AS (SELECT row_number() OVER () AS row, attributes FROM flat), "
        "pairs AS (SELECT row, unnest(attributes) AS a FROM numbered) "
        f"SELECT row, {', '.join(columns)} FROM pairs WHERE a.key IN ({listed}) GROUP BY row"
    )


STORED = """
CREATE TABLE IF NOT EXISTS stored (
    trace_id_hi UBIGINT, trace_id_lo UBIGINT, span_id UBIGINT, parent_span_id UBIGINT, name VARCHAR,
    kind INTEGER, start_time_unix_nano UBIGINT, end_time_unix_nano UBIGINT, status_code INTEGER,
    status_message VARCHAR, scope_name VARCHAR, scope_version VARCHAR, service_name VARCHAR,
    attributes VARCHAR, {columns})
"""


def stored_sql() -> str:
    columns = [f"{name} VARCHAR" for name in STRING_COLUMNS] + [f"{name} BIGINT" for name in INT_COLUMNS]
    return STORED.format(columns=", ".join(columns))


def insert_sql(nested: bool = False) -> str:
    names = [*STRING_COLUMNS, *INT_COLUMNS]
    table, attributes = ("stored_nested", "f.attributes") if nested else ("stored", "j.attributes_json")
    return (
        f"INSERT INTO {table} SELECT f.trace_id_hi, f.trace_id_lo, f.span_id, f.parent_span_id, f.name, f.kind, "
        "f.start_time_unix_nano, f.end_time_unix_nano, f.status_code, f.status_message, f.scope_name, "
        f"f.scope_version, f.service_name, {attributes}, {', '.join('l.' + n for n in names)} "
        "FROM (SELECT *, row_number() OVER () AS row FROM flat) f "
        "POSITIONAL JOIN (SELECT * FROM finished_json) j "
        "POSITIONAL JOIN (SELECT * FROM finished_lookups) l"
    )


KEY_JOIN = """
WITH matched AS (
    SELECT p.row, k.col, arg_min(coalesce(p.string_value, p.int_value::VARCHAR), k.rank) AS value
    FROM pairs AS p JOIN convention_keys AS k USING (key) GROUP BY ALL
)
SELECT row, {columns} FROM matched GROUP BY row
"""


def key_join_sql() -> str:
    names = [*STRING_COLUMNS, *INT_COLUMNS]
    return KEY_JOIN.format(columns=", ".join(f"any_value(value) FILTER (col = '{name}') AS {name}" for name in names))


def convention_keys() -> list[tuple[str, str, int]]:
    """(key, column, rank) of every key of the table."""
    columns = {**STRING_COLUMNS, **INT_COLUMNS}
    return [(key, column, rank) for column, keys in columns.items() for rank, key in enumerate(keys)]


def arrow_flat(batch: Any) -> tuple[Any, Any]:
    """The batch's spans (a struct array, one per span) and its attributes as (row, key, values) columns."""
    resource_spans = batch.column("resource_spans").flatten()
    scope_spans = pc.list_flatten(resource_spans.field("scope_spans"))
    spans = pc.list_flatten(scope_spans.field("spans"))
    attributes = spans.field("attributes")
    flat = pc.list_flatten(attributes)
    pairs = pa.table(
        {
            "row": pc.list_parent_indices(attributes),
            "key": flat.field("key"),
            "string_value": flat.field("value").field("string_value"),
            "int_value": flat.field("value").field("int_value"),
        }
    )
    return spans, pairs


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure(batches: int, requests_per_batch: int, workdir: Path) -> dict[str, Any]:
    template = ingest.build_template(512, 16)
    spans_per_batch = requests_per_batch * template.spans
    bodies = [
        [template.request(b * requests_per_batch + r + 1) for r in range(requests_per_batch)] for b in range(batches)
    ]
    handler = ptars.HandlerPool([ExportTraceServiceRequest.DESCRIPTOR.file]).get_for_message(
        ExportTraceServiceRequest.DESCRIPTOR
    )
    db = duckdb.connect(str(workdir / "columnar.duckdb"))
    db.execute("SET threads = 1")  # per-core figures: the server has two cores for everything
    db.execute("SET checkpoint_threshold = '16GB'")  # no checkpoint inside a timed commit: one, timed, at the end
    db.execute(stored_sql())
    db.execute("CREATE TEMP TABLE convention_keys (key VARCHAR, col VARCHAR, rank INTEGER)")
    db.executemany("INSERT INTO convention_keys VALUES (?, ?, ?)", convention_keys())
    stages: dict[str, list[float]] = {
        name: []
        for name in (
            "ptars",
            "flatten (DuckDB unnest)",
            "flatten (Arrow)",
            "lookups (list_filter)",
            "lookups (pivot)",
            "lookups (key join)",
            "attributes JSON",
            "insert + commit",
            "insert + commit (nested)",
            "old: decode_spans + to_arrow",
        )
    }
    list_filter_sql, pivot_sql, join_sql = lookups_list_filter_sql(), lookups_pivot_sql(), key_join_sql()
    for requests in bodies:
        arrow_batch = handler.list_to_record_batch(requests)  # warm, untimed, then timed below
        stages["ptars"].append(_timed(lambda requests=requests: handler.list_to_record_batch(requests)))
        db.register("batch", arrow_batch)
        stages["flatten (DuckDB unnest)"].append(_timed(lambda: db.execute(FLATTEN)))
        stages["flatten (Arrow)"].append(_timed(lambda batch=arrow_batch: arrow_flat(batch)))
        db.register("pairs", arrow_flat(arrow_batch)[1])
        stages["lookups (key join)"].append(_timed(lambda: db.execute(join_sql).to_arrow_table()))
        stages["lookups (list_filter)"].append(
            _timed(lambda: db.execute(f"CREATE OR REPLACE TEMP TABLE finished_lookups AS {list_filter_sql}"))
        )
        stages["lookups (pivot)"].append(_timed(lambda: db.execute(pivot_sql).to_arrow_table()))
        stages["attributes JSON"].append(
            _timed(lambda: db.execute(f"CREATE OR REPLACE TEMP TABLE finished_json AS {ATTRIBUTES_JSON}"))
        )

        def insert() -> None:
            db.execute("BEGIN")
            db.execute(insert_sql())
            db.execute("COMMIT")

        stages["insert + commit"].append(_timed(insert))
        select_nested = insert_sql(nested=True).removeprefix("INSERT INTO stored_nested ")
        db.execute(f"CREATE TABLE IF NOT EXISTS stored_nested AS {select_nested} LIMIT 0")  # ptars' nested type

        def insert_nested() -> None:
            db.execute("BEGIN")
            db.execute(insert_sql(nested=True))
            db.execute("COMMIT")

        stages["insert + commit (nested)"].append(_timed(insert_nested))
        db.unregister("batch")
        db.unregister("pairs")
        parsed = [ExportTraceServiceRequest.FromString(body) for body in requests]
        stages["old: decode_spans + to_arrow"].append(
            _timed(lambda parsed=parsed: [to_arrow(decode_spans(request), "default") for request in parsed])
        )
    checkpoint = _timed(lambda: db.execute("CHECKPOINT"))
    stored = db.execute("SELECT count(*), count(model), sum(input_tokens) FROM stored").fetchone()
    db.close()
    per_span = {name: statistics.median(values) / spans_per_batch * 1e6 for name, values in stages.items()}
    # Both tables (JSON text and nested attributes) are checkpointed at once: per row written.
    per_span["checkpoint (per row written)"] = checkpoint / (2 * batches * spans_per_batch) * 1e6
    return {
        "spans_per_batch": spans_per_batch,
        "batches": batches,
        "keys_looked_up": sum(len(keys) for keys in (*STRING_COLUMNS.values(), *INT_COLUMNS.values())),
        "stored": {"spans": stored[0], "with_model": stored[1], "input_tokens": stored[2]},
        "us_per_span": per_span,
        "machine": ingest.machine(),
        "agentlog": ingest.agentlog_source(),
        "ptars": ptars.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=12, help="transactions measured (default 12)")
    parser.add_argument("--requests-per-batch", type=int, default=8, help="512-span requests per transaction")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON to PATH")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        report = measure(args.batches, args.requests_per_batch, Path(tmp))
    print(f"{report['batches']} transactions of {report['spans_per_batch']} spans; ptars {report['ptars']}; "
          f"{report['keys_looked_up']} keys looked up per span; stored {report['stored']}")  # fmt: skip
    for name, value in report["us_per_span"].items():
        print(f"  {name:32} {value:7.2f} µs/span (median transaction)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
