"""The server's retention schedule: every so often, delete each tenant's expired runs.

Each tenant follows its row in ``retention_schedules`` or else the server's
default (``--retention-days``, ``--retention-every``; 0 days turns the default
off). Deletion goes through the writer thread batch by batch, so ingest goes
on meanwhile. Time and sleep are injected so tests need not wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from functools import partial

from agentlog.collector.writer import SpanWriter
from agentlog.store import retention, schedules
from agentlog.store.schedules import Schedule

log = logging.getLogger(__name__)

TICK_SECONDS = 60.0
"""How often due schedules are looked for: schedules are hourly-ish, a minute late is fine."""

NS_PER_DAY = 86_400 * 10**9


class RetentionScheduler:
    """Runs due cleanups until cancelled."""

    def __init__(
        self,
        writer: SpanWriter,
        default: Schedule,
        *,
        clock: Callable[[], int] = time.time_ns,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        self._writer = writer
        self._default = default
        self._clock = clock
        self._sleep = sleep
        self._tick = tick_seconds
        self._last_run: dict[str, int] = {}

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("scheduled retention failed; trying again next tick")
            await self._sleep(self._tick)

    async def run_due(self) -> list[tuple[str, retention.Deleted]]:
        """Clean up every tenant whose schedule is due; returns what each deleted."""
        stored, tenants = await self._writer.run_task(
            lambda cursor: (schedules.schedules(cursor), schedules.tenants(cursor))
        )
        done = []
        now = self._clock()
        for tenant in sorted(set(tenants) | set(stored)):
            schedule = stored.get(tenant) or Schedule(tenant, self._default.days, self._default.every_seconds)
            last = self._last_run.get(tenant)
            if last is None and schedule.last_run_ms is not None:
                last = schedule.last_run_ms * 1_000_000
            if schedule.days <= 0 or (last is not None and now - last < schedule.every_seconds * 10**9):
                continue
            deleted = await retention.delete_expired(self._writer.run_task, tenant, now - schedule.days * NS_PER_DAY)
            self._last_run[tenant] = now
            if tenant in stored:
                record = partial(schedules.record_run, tenant_id=tenant, at_ns=now, deleted_runs=deleted.runs)
                await self._writer.run_task(record)
            if deleted.runs:
                log.info("retention: deleted %d runs (%d spans) of tenant %s", deleted.runs, deleted.spans, tenant)
            done.append((tenant, deleted))
        return done
