"""Export: a view's rows since a time, as an Arrow table (the CLI writes Parquet, CSV or JSON from it)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from agentlog.errors import InvalidRequest
from agentlog.query.scope import Scope

# A view shows a start past the latest TIMESTAMP_NS as NULL (store/views/times.sql): such a
# row started after any ``since``; and a ``since`` past that time keeps only such rows.
EXPORTS = {
    "spans": """SELECT * FROM spans WHERE tenant_id = $tenant
                AND (start_time IS NULL OR start_time >= ns_timestamp($since::UBIGINT))""",
    "nodes": """SELECT * FROM nodes WHERE tenant_id = $tenant
                AND (started_at IS NULL OR started_at >= ns_timestamp($since::UBIGINT))""",
    "runs": """SELECT * FROM runs WHERE tenant_id = $tenant
                AND (started_at IS NULL OR started_at >= ns_timestamp($since::UBIGINT))""",
    # A record sent with no time at all (NULL) is in every export, as a view's NULL start is.
    "log_records": """SELECT * FROM log_records WHERE tenant_id = $tenant
                       AND (time IS NULL OR time >= ns_timestamp($since::UBIGINT))""",
}


def export_table(cursor: Any, scope: Scope, table: str, since_ns: int) -> pa.Table:
    """Rows of the ``table`` view (spans, nodes, runs or log_records) that started (were logged) at or after
    ``since_ns``.

    ``since_ns`` is Unix nanoseconds, 0 to 2**64 - 1 (``timefmt.parse_time`` keeps it there)."""
    if table not in EXPORTS:
        raise InvalidRequest(f"table must be one of {', '.join(EXPORTS)}; got {table!r}")
    sql = EXPORTS[table]
    if scope.user_id is not None:
        raise InvalidRequest("export is for tenant-wide keys; a key bound to a user cannot export")
    arrow: pa.Table = cursor.execute(sql, {"tenant": scope.tenant_id, "since": since_ns}).to_arrow_table()
    return arrow
