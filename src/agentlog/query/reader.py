"""Running read queries off the event loop: a DuckDB cursor per call, in a worker thread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from agentlog.query.metric_days import MetricDays
from agentlog.store import Database

T = TypeVar("T")

DEFAULT_MAX_CONCURRENT_READS = 4
"""Reads in flight at once: enough to overlap I/O, few enough that reads never crowd out the writer."""


class Reader:
    """Runs ``fn(cursor, ...)`` in a worker thread with a fresh cursor; at most N at a time."""

    def __init__(
        self,
        database: Database,
        *,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT_READS,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._database = database
        self._slots = asyncio.Semaphore(max_concurrent)
        self.clock = clock
        self.metric_days = MetricDays()
        """Metrics' per-day partials, kept for this database's later requests."""

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        async with self._slots:
            return await asyncio.to_thread(self._call, fn, *args)

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        cursor = self._database.cursor()
        try:
            return fn(cursor, *args)
        finally:
            cursor.close()
