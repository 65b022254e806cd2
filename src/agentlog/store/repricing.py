"""Repricing: recompute computed (and unknown) costs with the current genai-prices data.

After a price update (a newer genai-prices), ``reprice`` prices again every
span whose cost agentlog computed or could not compute, since a date, then
recomputes the cost totals of the runs it touched from their spans. A
reported cost (the span carried it) is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa

from agentlog.proto.ids import TRACE_ID_TYPE
from agentlog.proto.normalize import USD_QUANTUM
from agentlog.proto.pricing import price_usd
from agentlog.store.rollups import fold_partials
from agentlog.store.transactions import transaction
from agentlog.store.write_lock import deleting

CANDIDATES = """
SELECT trace_id, span_id, model, provider,
       coalesce(input_tokens, 0), coalesce(cache_read_tokens, 0), coalesce(cache_write_tokens, 0),
       coalesce(output_tokens, 0), start_time_unix_nano, cost_usd
FROM stored_spans
WHERE tenant_id = $tenant AND start_time_unix_nano >= $since::UBIGINT
  AND cost_source IN ('computed', 'unknown') AND model IS NOT NULL AND NOT coalesce(usage_aggregated, false)
"""

UPDATE_SPANS = """
UPDATE stored_spans SET cost_usd = r.cost_usd, cost_source = r.cost_source
FROM repriced r
WHERE stored_spans.tenant_id = $tenant
  AND stored_spans.trace_id = r.trace_id
  AND stored_spans.span_id = r.span_id
"""

# Cost columns of the touched runs, recomputed from their spans with the same rule as the roll-up.
# Written to run_compacted once this transaction has folded the partials into it
# (store/rollups.py): a partial committed afterwards adds spans this recount did not see.
UPDATE_RUNS = """
UPDATE run_compacted SET
    cost_usd = a.cost_usd, reported_cost_nodes = a.reported, computed_cost_nodes = a.computed,
    unknown_cost_nodes = a.unknown, fallback_cost_usd = a.fallback_cost_usd,
    fallback_reported_cost_nodes = a.fallback_reported, fallback_computed_cost_nodes = a.fallback_computed,
    fallback_unknown_cost_nodes = a.fallback_unknown
FROM (
    SELECT s.tenant_id, s.trace_id,
        coalesce(sum(cost_usd) FILTER (own_usage(node_type, usage_aggregated)), 0) AS cost_usd,
        count(*) FILTER (own_usage(node_type, usage_aggregated) AND cost_source = 'reported') AS reported,
        count(*) FILTER (own_usage(node_type, usage_aggregated) AND cost_source = 'computed') AS computed,
        count(*) FILTER (own_usage(node_type, usage_aggregated) AND cost_source = 'unknown') AS unknown,
        coalesce(sum(cost_usd) FILTER (fallback_usage(node_type, usage_aggregated)), 0) AS fallback_cost_usd,
        count(*) FILTER (fallback_usage(node_type, usage_aggregated) AND cost_source = 'reported') AS fallback_reported,
        count(*) FILTER (fallback_usage(node_type, usage_aggregated) AND cost_source = 'computed') AS fallback_computed,
        count(*) FILTER (fallback_usage(node_type, usage_aggregated) AND cost_source = 'unknown') AS fallback_unknown
    FROM stored_spans s
    JOIN (SELECT DISTINCT trace_id FROM repriced) t USING (trace_id)
    WHERE s.tenant_id = $tenant
    GROUP BY s.tenant_id, s.trace_id
) a
WHERE run_compacted.tenant_id = a.tenant_id AND run_compacted.trace_id = a.trace_id
"""


@dataclass(frozen=True)
class Repriced:
    spans: int
    changed: int
    runs: int

    def to_json(self) -> dict[str, int]:
        return {"spans_checked": self.spans, "spans_changed": self.changed, "runs_updated": self.runs}


def reprice(cursor: Any, tenant_id: str, since_ns: int) -> Repriced:
    """Price again the computed/unknown costs of spans started since ``since_ns``, in one transaction."""
    with deleting(cursor), transaction(cursor):
        rows = cursor.execute(CANDIDATES, {"tenant": tenant_id, "since": since_ns}).fetchall()
        priced = [_price(row) for row in rows]
        changed = sum(1 for row, cost in zip(rows, priced, strict=True) if cost != row[-1])
        runs = 0
        if rows:
            table = pa.table(
                {
                    "trace_id": pa.array([row[0].bytes for row in rows], TRACE_ID_TYPE),
                    "span_id": pa.array([row[1] for row in rows], pa.uint64()),
                    "cost_usd": pa.array(priced, pa.decimal128(38, 12)),
                    "cost_source": ["computed" if cost is not None else "unknown" for cost in priced],
                }
            )
            cursor.register("repriced_arrow", table)
            cursor.execute(
                "CREATE OR REPLACE TEMP TABLE repriced AS "
                "SELECT * REPLACE (trace_id::UUID AS trace_id) FROM repriced_arrow"
            )
            cursor.unregister("repriced_arrow")
            cursor.execute(UPDATE_SPANS, {"tenant": tenant_id})
            fold_partials(cursor)
            runs = int(cursor.execute(UPDATE_RUNS, {"tenant": tenant_id}).fetchone()[0])
            cursor.execute("DROP TABLE repriced")
    return Repriced(len(rows), changed, runs)


def _price(row: tuple[Any, ...]) -> Decimal | None:
    _, _, model, provider, input_tokens, cache_read, cache_write, output_tokens, start, _ = row
    cost = price_usd(model, provider, input_tokens, cache_read, cache_write, output_tokens, start)
    return None if cost is None else cost.quantize(USD_QUANTUM)
