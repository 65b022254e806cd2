"""Retention schedules per tenant, kept in the database so a restarted server keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentlog.store.transactions import transaction

# A tenant's schedule replaced: delete and insert in one transaction, not ON CONFLICT (a lake has no keys).
REPLACE = (
    "DELETE FROM retention_schedules WHERE tenant_id = $tenant",
    """
    INSERT INTO retention_schedules (tenant_id, days, every_seconds, updated_at)
    VALUES ($tenant, $days, $every, now())
    """,
)
SELECT_ALL = "SELECT tenant_id, days, every_seconds, epoch_ms(last_run_at), last_deleted_runs FROM retention_schedules"
RECORD_RUN = """
UPDATE retention_schedules SET last_run_at = make_timestamp($at_us), last_deleted_runs = $deleted
WHERE tenant_id = $tenant
"""
# The tenants of run_rollups, from the two tables its view merges (not merging every run to list them).
TENANTS = "SELECT tenant_id FROM run_compacted UNION SELECT tenant_id FROM run_partials"


@dataclass(frozen=True)
class Schedule:
    tenant_id: str
    days: int
    every_seconds: int
    last_run_ms: int | None = None
    last_deleted_runs: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "days": self.days,
            "every_seconds": self.every_seconds,
            "last_run_ms": self.last_run_ms,
            "last_deleted_runs": self.last_deleted_runs,
        }


def set_schedule(cursor: Any, tenant_id: str, days: int, every_seconds: int) -> Schedule:
    """Store the tenant's schedule (in a transaction of its own), replacing any it had."""
    with transaction(cursor):
        cursor.execute(REPLACE[0], {"tenant": tenant_id})
        cursor.execute(REPLACE[1], {"tenant": tenant_id, "days": days, "every": every_seconds})
    return Schedule(tenant_id, days, every_seconds)


def schedules(cursor: Any) -> dict[str, Schedule]:
    """Every stored schedule, by tenant."""
    return {row[0]: Schedule(*row) for row in cursor.execute(SELECT_ALL).fetchall()}


def record_run(cursor: Any, tenant_id: str, at_ns: int, deleted_runs: int) -> None:
    cursor.execute(RECORD_RUN, {"tenant": tenant_id, "at_us": at_ns // 1000, "deleted": deleted_runs})


def tenants(cursor: Any) -> list[str]:
    """Tenants that have runs."""
    return [row[0] for row in cursor.execute(TENANTS).fetchall()]
