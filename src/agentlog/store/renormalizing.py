"""Re-normalising: the canonical columns of stored spans read again, by other conventions.

After an organisation's conventions file changes (``agentlog serve
--conventions``), the spans stored before still have the columns the old
table gave them. ``renormalize`` reads each stored span's attributes and
events again through ``normalize`` (the per-span reading the columnar
decoder is tested equal to), rewrites the columns that changed, and folds
the runs it touched again from their spans, all in one transaction; with
``dry_run`` it only counts what would change, column by column.

It costs ~20-40 µs of Python a span: offline upkeep, read in batches of
``BATCH_SPANS`` so that memory stays bounded. Runs still running (a
live-status marker waits for a span) are left alone: their markers carry
columns only ingest computes; re-normalise once they end.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa

from agentlog.proto.conventions import Conventions
from agentlog.proto.ids import TRACE_ID_TYPE
from agentlog.proto.normalize import CANONICAL_COLUMNS, Canonical, message_events, normalize
from agentlog.proto.rows import SPAN_ROWS
from agentlog.store.refold import refold_runs
from agentlog.store.transactions import transaction
from agentlog.store.write_lock import deleting

BATCH_SPANS = 10_000
_COLUMNS = tuple(name for name in CANONICAL_COLUMNS if name not in ("input_key", "output_key"))
"""What is compared and counted: a text's key goes with its text."""

# The spans to read again, and their columns as stored. Runs with a live-status marker are left alone.
CANDIDATES = f"""
SELECT trace_id, span_id, name, attributes, status_code,
       status_message, events, start_time_unix_nano, {", ".join(f's."{name}"' for name in CANONICAL_COLUMNS)}
FROM stored_spans s
WHERE tenant_id = $tenant AND start_time_unix_nano >= $since::UBIGINT
  AND NOT EXISTS (SELECT 1 FROM pending_spans p WHERE p.tenant_id = s.tenant_id AND p.trace_id = s.trace_id)
"""

RUNNING_RUNS = """
SELECT count(DISTINCT trace_id) FROM pending_spans WHERE tenant_id = $tenant
"""

UPDATE_SPANS = f"""
UPDATE stored_spans SET {", ".join(f'"{name}" = r."{name}"' for name in CANONICAL_COLUMNS)}
FROM renormalized r
WHERE stored_spans.tenant_id = $tenant
  AND stored_spans.trace_id = r.trace_id
  AND stored_spans.span_id = r.span_id
"""

# The runs of the changed spans, for refold_runs.
REFOLD_KEYS = """
CREATE OR REPLACE TEMP TABLE refold_keys AS SELECT DISTINCT $tenant AS tenant_id, trace_id FROM renormalized
"""


@dataclass
class Renormalized:
    dry_run: bool
    spans: int = 0
    changed: int = 0
    running_runs: int = 0
    columns: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_COLUMNS, 0))
    traces: set[bytes] = field(default_factory=set)  # the runs of the changed spans

    @property
    def runs(self) -> int:
        return len(self.traces)

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "spans_checked": self.spans,
            "spans_changed": self.changed,
            "runs_updated": self.runs,
            "running_runs_skipped": self.running_runs,
            "columns_changed": {name: count for name, count in self.columns.items() if count},
        }


def renormalize(
    cursor: Any, tenant_id: str, since_ns: int, conventions: Conventions, max_length: int, *, dry_run: bool
) -> Renormalized:
    """Read ``tenant_id``'s spans started since ``since_ns`` again by ``conventions``; rewrite what changed
    and the runs it belongs to (nothing with ``dry_run``). One transaction: all of it or nothing."""
    result = Renormalized(dry_run)
    params = {"tenant": tenant_id, "since": since_ns}
    with deleting(cursor), transaction(cursor):
        (result.running_runs,) = cursor.execute(RUNNING_RUNS, {"tenant": tenant_id}).fetchone()
        changed_batches: list[pa.Table] = []
        for rows in _batches(cursor.execute(CANDIDATES, params)):
            changed = _read_again(rows, conventions, max_length, result)
            if changed and not dry_run:
                changed_batches.append(pa.Table.from_pylist(changed, schema=_CHANGED_SCHEMA))
        if changed_batches:
            _rewrite(cursor, tenant_id, pa.concat_tables(changed_batches))
    return result


def _batches(executed: Any) -> Iterator[list[tuple[Any, ...]]]:
    while rows := executed.fetchmany(BATCH_SPANS):
        yield rows


_HEAD = 8  # the columns before the stored canonical ones in CANDIDATES
_CHANGED_SCHEMA = pa.schema(
    [("trace_id", TRACE_ID_TYPE), ("span_id", pa.uint64())] + [SPAN_ROWS.field(name) for name in CANONICAL_COLUMNS]
)


def _read_again(
    rows: list[tuple[Any, ...]], conventions: Conventions, max_length: int, result: Renormalized
) -> list[dict[str, Any]]:
    """The rows of ``rows`` whose columns change, as rows of ``_CHANGED_SCHEMA``; counts into ``result``."""
    changed: list[dict[str, Any]] = []
    for row in rows:
        trace_id, span_id, name, attributes_json, status_code, status_message, events_json, start = row[:_HEAD]
        stored = dict(zip(CANONICAL_COLUMNS, row[_HEAD:], strict=True))
        fresh = _as_stored(_normalized(name, attributes_json, status_code, status_message, events_json, start,
                                       max_length, conventions))  # fmt: skip
        differing = [column for column in _COLUMNS if not _same(column, stored, fresh)]
        result.spans += 1
        if differing:
            result.changed += 1
            for column in differing:
                result.columns[column] += 1
            result.traces.add(trace_id.bytes)
            changed.append({"trace_id": trace_id.bytes, "span_id": span_id, **fresh})
    return changed


def _normalized(
    name: str,
    attributes_json: str,
    status_code: int,
    status_message: str | None,
    events_json: str | None,
    start: int,
    max_length: int,
    conventions: Conventions,
) -> Canonical:
    """``normalize`` given what ingest gave it: the attributes, what message events lend, the first exception."""
    attributes = orjson.loads(attributes_json)
    events = orjson.loads(events_json) if events_json else []
    named = [(event.get("name", ""), event.get("attributes") or {}) for event in events]
    lent = message_events(named)
    exception = (
        next((attrs for event_name, attrs in named if event_name == "exception"), None) if status_code == 2 else None
    )
    return normalize(
        name, {**attributes, **lent} if lent else attributes, status_code, status_message or "", exception, start,
        max_length, conventions,
    )  # fmt: skip


def _as_stored(canonical: Canonical) -> dict[str, Any]:
    """The columns as the store keeps them: a text that is an attribute's value verbatim is not copied."""
    row = canonical._asdict()
    for text in ("input", "output"):
        if row[f"{text}_key"] is not None:
            row[text] = None
    return row


def _same(column: str, stored: Mapping[str, Any], fresh: Mapping[str, Any]) -> bool:
    if column in ("input", "output"):
        return bool(stored[column] == fresh[column] and stored[f"{column}_key"] == fresh[f"{column}_key"])
    if column == "usage_aggregated":
        return bool(stored[column]) == bool(fresh[column])
    return bool(stored[column] == fresh[column])  # costs: Decimals, equal whatever their scale


def _rewrite(cursor: Any, tenant_id: str, changed: pa.Table) -> None:
    """Write ``changed`` over the stored spans, and fold their runs again from all their spans."""
    cursor.register("renormalized_arrow", changed)
    try:
        cursor.execute(
            "CREATE OR REPLACE TEMP TABLE renormalized AS "
            "SELECT * REPLACE (trace_id::UUID AS trace_id) FROM renormalized_arrow"
        )
    finally:
        cursor.unregister("renormalized_arrow")
    cursor.execute(UPDATE_SPANS, {"tenant": tenant_id})
    cursor.execute(REFOLD_KEYS, {"tenant": tenant_id})
    refold_runs(cursor)
    for table in ("refold_keys", "renormalized"):
        cursor.execute(f"DROP TABLE {table}")
