"""Export: a view's rows since a time, as an Arrow table (the CLI writes Parquet, CSV or JSON from it)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from agentlog.errors import InvalidRequest
from agentlog.query.scope import Scope

EXPORTS = {
    "spans": "SELECT * FROM spans WHERE tenant_id = $tenant AND start_time >= make_timestamp_ns($since)",
    "nodes": "SELECT * FROM nodes WHERE tenant_id = $tenant AND started_at >= make_timestamp_ns($since)",
    "runs": "SELECT * FROM runs WHERE tenant_id = $tenant AND started_at >= make_timestamp_ns($since)",
}


def export_table(cursor: Any, scope: Scope, table: str, since_ns: int) -> pa.Table:
    """Rows of the ``table`` view (spans, nodes or runs) that started at or after ``since_ns``."""
    if table not in EXPORTS:
        raise InvalidRequest(f"table must be one of {', '.join(EXPORTS)}; got {table!r}")
    sql = EXPORTS[table]
    if scope.user_id is not None:
        raise InvalidRequest("export is for tenant-wide keys; a key bound to a user cannot export")
    since = min(since_ns, 2**63 - 1)  # timestamps in DuckDB are signed 64-bit nanoseconds
    arrow: pa.Table = cursor.execute(sql, {"tenant": scope.tenant_id, "since": since}).to_arrow_table()
    return arrow
