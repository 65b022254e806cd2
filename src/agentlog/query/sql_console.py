"""Read-only SQL for analysts: one SELECT over the database's tables and views, bounded in rows and time.

DuckDB has no per-statement read-only switch on a read-write database, so a
query is checked before it runs, on DuckDB's own parse tree (``sql_check``):

- exactly one statement, and a SELECT;
- every table it names is a CTE in scope at that point or a table or view
  of the database: no file paths, no URLs, no Python objects;
- every table function it calls is on a short allow-list (``range``,
  ``unnest``, ...): no ``read_csv``, ``read_text``, ``glob``, ``query_table``.

Then it runs on its own cursor with Python replacement scans off, is
interrupted past ``timeout`` seconds, and returns at most ``max_rows`` rows.
The database itself runs with external access off, so no query reaches a
file or URL or loads an extension even if a check missed it.

For a tenant's admin key (``tenant`` given) the query sees only the views
``spans``, ``nodes``, ``runs``, ``agents`` and ``log_records``, redefined on its cursor as
temporary views filtered to that tenant; the tables behind them, any
qualified name, SHOW, and functions that reveal settings or the catalog are
refused. Without keys (the local operator) it sees the whole database.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from agentlog.errors import InvalidRequest
from agentlog.query.json_values import DUCKDB_TYPE, table_rows
from agentlog.query.sql_check import Rules, check_tree, parse_tree, table_names
from agentlog.store.keys import check_name

DEFAULT_MAX_ROWS = 10_000
MAX_ROWS = 1_000_000
DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class SqlResult:
    """Rows of a query as an Arrow table; ``truncated`` when more rows existed than were returned.

    Each field's metadata carries DuckDB's type of the column (``json_values.DUCKDB_TYPE``)."""

    table: pa.Table
    truncated: bool

    def to_json(self) -> dict[str, Any]:
        """Columns (name, Arrow type), rows as lists of JSON values (``json_values``), and whether rows were cut."""
        columns = [{"name": field.name, "type": str(field.type)} for field in self.table.schema]
        return {
            "columns": columns,
            "rows": table_rows(self.table),
            "row_count": self.table.num_rows,
            "truncated": self.truncated,
        }


# DuckDB's type ids (``DuckDBPyType.id``) of the types ``_exact`` turns to text, and of the types that
# can hold them.
_TEXT_TYPES = frozenset({"time with time zone"})
_NESTED_TYPES = frozenset({"list", "array", "struct", "map", "union"})

TENANT_VIEWS = ("spans", "nodes", "runs", "agents", "log_records")
# Qualified by the database's catalog: temp views live in a schema also named "main".
_SCOPED_VIEW = (
    "CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM \"{catalog}\".main.{name} WHERE tenant_id = '{tenant}'"
)


def check_read_only(cursor: Any, sql: str, tenant: str | None = None) -> None:
    """InvalidRequest unless ``sql`` is a single SELECT that reaches only the database's own tables
    (only the tenant views, unqualified, when ``tenant`` is given); see ``sql_check``."""
    try:
        statements = cursor.extract_statements(sql)
    except duckdb.Error as error:
        raise InvalidRequest(f"SQL does not parse: {error}") from None
    if len(statements) != 1:
        raise InvalidRequest(f"send exactly one statement, got {len(statements)}")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise InvalidRequest("only SELECT statements are allowed: this SQL is read-only")
    tables = table_names(cursor) if tenant is None else frozenset(TENANT_VIEWS)
    check_tree(parse_tree(cursor, sql), Rules(tables, tenant=tenant is not None))


def run_sql(
    cursor: Any,
    sql: str,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    tenant: str | None = None,
) -> SqlResult:
    """Check and run ``sql``; at most ``max_rows`` rows, interrupted after ``timeout`` seconds;
    only ``tenant``'s rows when it is given."""
    check_read_only(cursor, sql, tenant)
    cursor.execute("SET python_enable_replacements = false")
    if tenant is not None:
        check_name(tenant, "tenant")  # keys only ever carry such names; checked again before quoting
        catalog = cursor.execute("SELECT current_database()").fetchone()[0].replace('"', '""')
        for name in TENANT_VIEWS:
            cursor.execute(_SCOPED_VIEW.format(name=name, catalog=catalog, tenant=tenant))
    timer = threading.Timer(timeout, cursor.interrupt)
    timer.start()
    try:
        relation = cursor.sql(sql)
        types = [str(kind) for kind in relation.types]
        reader = _exact(relation).to_arrow_reader(batch_size=min(max_rows + 1, 100_000))
        batches: list[pa.RecordBatch] = []
        rows = 0
        for batch in reader:
            batches.append(batch)
            rows += batch.num_rows
            if rows > max_rows:
                break
        table = pa.Table.from_batches(batches, schema=_typed(reader.schema, types))
    except duckdb.InterruptException:
        raise InvalidRequest(f"query took longer than {timeout:g} s and was stopped") from None
    except duckdb.Error as error:
        raise InvalidRequest(f"query failed: {error}") from None
    finally:
        timer.cancel()
    return SqlResult(table.slice(0, max_rows), table.num_rows > max_rows)


def _exact(relation: Any) -> Any:
    """``relation`` with every TIME WITH TIME ZONE (also inside lists, arrays, structs, maps and unions)
    cast to DuckDB's own text of it (``12:00:00+05``): Arrow has no time with an offset and would drop
    it. Column names and order are kept; other columns are untouched, and a query without such a
    column runs as written."""
    targets = [_as_text(kind) for kind in relation.types]
    if all(target is None for target in targets):
        return relation
    columns = [
        (f"#{position}" if target is None else f"CAST(#{position} AS {target})") + " AS " + _quoted(name)
        for position, (name, target) in enumerate(zip(relation.columns, targets, strict=True), start=1)
    ]
    return relation.project(", ".join(columns))


def _as_text(kind: Any) -> Any:
    """``kind`` (a DuckDB type) with TIME WITH TIME ZONE replaced by VARCHAR at any depth;
    None when it holds none."""
    if kind.id in _TEXT_TYPES:
        return duckdb.sqltype("VARCHAR")
    if kind.id not in _NESTED_TYPES:
        return None
    children = kind.children
    if kind.id in ("list", "array"):
        child = _as_text(children[0][1])
        if child is None:
            return None
        return duckdb.list_type(child) if kind.id == "list" else duckdb.array_type(child, children[1][1])
    if kind.id == "union":
        children = children[1:]  # the first child is the union's tag
    converted = [_as_text(child) for _, child in children]
    if all(child is None for child in converted):
        return None
    members = {name: child if new is None else new for (name, child), new in zip(children, converted, strict=True)}
    if kind.id == "map":
        return duckdb.map_type(members["key"], members["value"])
    return duckdb.struct_type(members) if kind.id == "struct" else duckdb.union_type(members)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _typed(schema: pa.Schema, types: list[str]) -> pa.Schema:
    """``schema`` with DuckDB's type of each column in its field's metadata (it survives Arrow IPC)."""
    if len(types) != len(schema):
        return schema
    fields = [field.with_metadata({**(field.metadata or {}), DUCKDB_TYPE: kind.encode()})
              for field, kind in zip(schema, types, strict=True)]  # fmt: skip
    return pa.schema(fields, metadata=schema.metadata)
