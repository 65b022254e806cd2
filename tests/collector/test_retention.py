"""The server's retention schedule, with an injected clock: due tenants are cleaned, others left alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentlog.collector.retention import NS_PER_DAY, RetentionScheduler
from agentlog.collector.writer import SpanWriter
from agentlog.store import Database
from agentlog.store.schedules import Schedule, set_schedule
from tests.factories import agent_spans, make_request, span_rows

NOW = 1_780_000_000 * 10**9
HOUR = 3600 * 10**9


def _run_at(start: int) -> object:
    spans = agent_spans(3)
    for span in spans:
        span.start_time_unix_nano = start
        span.end_time_unix_nano = start + 10**9
    return make_request(spans)


def test_due_tenants_are_cleaned_on_their_schedule(db_path: Path) -> None:
    database = Database.open(db_path)
    writer = SpanWriter(database)
    writer.start()
    clock = [NOW]
    scheduler = RetentionScheduler(writer, Schedule("*", 30, 3600), clock=lambda: clock[0])

    async def scenario() -> list[int]:
        for tenant, age_days in (("a", 40), ("a", 10), ("b", 40), ("b", 20)):
            table = span_rows(_run_at(NOW - age_days * NS_PER_DAY), tenant)  # type: ignore[arg-type]
            await writer.write(table)
        # Tenant b keeps 14 days, checked every 2 hours; tenant a follows the default (30 days, hourly).
        await writer.run_task(lambda cursor: set_schedule(cursor, "b", 14, 7200))
        first = await scheduler.run_due()
        clock[0] += HOUR + 1
        second = await scheduler.run_due()  # a is due again (nothing left to delete), b is not
        clock[0] += HOUR
        third = await scheduler.run_due()  # both due
        return [len(first), len(second), len(third), sum(d.runs for _, d in first)]

    counts = asyncio.run(scenario())
    writer.close()
    assert counts == [2, 1, 2, 3]  # a's 40-day run; b's 40- and 20-day runs
    rows = database.cursor().execute("SELECT tenant_id, count(*) FROM run_rollups GROUP BY ALL ORDER BY 1").fetchall()
    assert rows == [("a", 1)]
    (last,) = (
        database.cursor().execute("SELECT last_deleted_runs FROM retention_schedules WHERE tenant_id = 'b'").fetchone()
    )
    assert last == 0  # its latest run deleted nothing: both were gone after the first
    database.close()


def test_zero_days_turns_the_default_off(db_path: Path) -> None:
    database = Database.open(db_path)
    writer = SpanWriter(database)
    writer.start()
    scheduler = RetentionScheduler(writer, Schedule("*", 0, 3600), clock=lambda: NOW)

    async def scenario() -> int:
        await writer.write(span_rows(_run_at(NOW - 400 * NS_PER_DAY), "default"))  # type: ignore[arg-type]
        return len(await scheduler.run_due())

    assert asyncio.run(scenario()) == 0
    writer.close()
    assert database.cursor().execute("SELECT count(*) FROM run_rollups").fetchone() == (1,)
    database.close()
