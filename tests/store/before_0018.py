"""Writing as agentlog did before migration 0018: trace ids and log record hashes as UHUGEINT, each
roll-up STRUCT's key as one 128-bit integer, (time << 64) | span id.

The migration tests write older databases with today's statements; these turn what today's write into
what an older agentlog wrote (the conversions 0018 undoes)."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from agentlog.store.log_records import INSERT_LOG_RECORDS
from agentlog.store.migrate import migrate
from agentlog.store.spans import FOLD_RUNS, INSERT_SPANS

_HALF = "('0x' || substr({0}, {1}, 16))::UBIGINT"
_BLOB_TO_UHUGEINT = (
    "CASE WHEN {0} IS NOT NULL THEN "
    + "(" + _HALF.format("hex({0})", 1) + "::UHUGEINT << 64) | " + _HALF.format("hex({0})", 17)
    + " END"
)  # fmt: skip


def blob_to_uhugeint(column: str) -> str:
    """SQL: a batch's 16-byte id column as the UHUGEINT it was stored as before 0018."""
    return _BLOB_TO_UHUGEINT.format(column)


def uuid_to_uhugeint(column: str) -> str:
    """SQL: a stored UUID as the UHUGEINT it was before 0018."""
    return blob_to_uhugeint(f"unhex(replace({column}::VARCHAR, '-', ''))")


def key_to_uhugeint(column: str) -> str:
    """SQL: a roll-up STRUCT with its key as the pair {ns, span} as it was before 0018."""
    key = f"struct_extract({column}, 'key')"
    pair = f"(struct_extract({key}, 'ns')::UHUGEINT << 64) | struct_extract({key}, 'span')"
    return f'CASE WHEN {column} IS NOT NULL THEN struct_update({column}, "key" := {pair}) END'


def statement_before_18(sql: str) -> str:
    """Today's span insert, storing the batch's trace ids as UHUGEINT."""
    return sql.replace("trace_id::UUID", blob_to_uhugeint("trace_id"))


def current_types(table: str) -> dict[str, str]:
    """Each column's type in ``table`` of today's schema."""
    connection = duckdb.connect()
    try:
        migrate(connection)
        rows = connection.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?", [table]
        ).fetchall()
    finally:
        connection.close()
    return dict(rows)


def retype_as_today(connection: Any, table: str, like: str) -> None:
    """Give the columns of ``table`` (made like an older roll-up table) today's types of ``like``'s."""
    types = current_types(like)
    for name, old_type in connection.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall():
        if name in types and types[name] != old_type:
            connection.execute(f'ALTER TABLE {table} ALTER COLUMN "{name}" SET DATA TYPE {types[name]}')


def select_as_before_18(connection: Any, table: str, columns: list[str]) -> str:
    """SQL: ``columns`` of ``table`` (today's types) as an older agentlog stored them."""
    types = dict(connection.execute(f"SELECT column_name, column_type FROM (DESCRIBE {table})").fetchall())
    selected = []
    for name in columns:
        quoted = f'"{name}"'
        if types[name] == "UUID":
            selected.append(f"{uuid_to_uhugeint(quoted)} AS {quoted}")
        elif types[name].startswith('STRUCT("key" STRUCT('):
            selected.append(f"{key_to_uhugeint(quoted)} AS {quoted}")
        else:
            selected.append(quoted)
    return f"SELECT {', '.join(selected)} FROM {table}"


def commit_spans_before_18(connection: Any, table: Any, commit_seq: int) -> None:
    """Commit span rows (``SPAN_ROWS``) into a database of schema 16 or 17 as agentlog did then: the spans,
    and their runs' roll-ups appended to run_partials."""
    connection.register("span_batch", table.append_column("row", pa.array(range(table.num_rows), pa.int64())))
    connection.execute("BEGIN")
    connection.execute(statement_before_18(INSERT_SPANS), [commit_seq])
    connection.execute("CREATE OR REPLACE TEMP TABLE folded AS SELECT * FROM run_partials LIMIT 0")
    retype_as_today(connection, "folded", "run_partials")
    connection.execute(FOLD_RUNS.replace("INSERT INTO run_partials", "INSERT INTO folded"), [commit_seq])
    columns = [name for (name,) in connection.execute("SELECT column_name FROM (DESCRIBE run_partials)").fetchall()]
    connection.execute(f"INSERT INTO run_partials BY NAME {select_as_before_18(connection, 'folded', columns)}")
    connection.execute("DROP TABLE folded")
    connection.execute("COMMIT")
    connection.unregister("span_batch")


def commit_log_records_before_18(connection: Any, table: Any, commit_seq: int) -> None:
    """Insert log record rows (``LOG_ROWS``) into a database of schema 17 as agentlog did then."""
    connection.register("log_batch", table)
    sql = INSERT_LOG_RECORDS.replace("record_hash::UUID", blob_to_uhugeint("record_hash"))
    connection.execute(sql.replace("trace_id::UUID", blob_to_uhugeint("trace_id")), [commit_seq])
    connection.unregister("log_batch")
