"""Running read queries off the event loop: in worker threads, each with its own DuckDB cursor."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from agentlog.query.metric_days import MetricDays
from agentlog.store import Database

T = TypeVar("T")

DEFAULT_MAX_CONCURRENT_READS = 4
"""Reads in flight at once: enough to overlap I/O, few enough that reads never crowd out the writer."""


class Reader:
    """Runs ``fn(cursor, ...)`` in a worker thread; at most N at a time.

    Each worker thread keeps one cursor for the reads it runs: opening a DuckDB
    connection (and pointing it at the file's catalog) costs ~0.35 ms, a few
    per cent of a history page. A read that changes its cursor's settings or
    defines temporary objects (the SQL console) takes ``read_alone``.
    """

    def __init__(
        self,
        database: Database,
        *,
        max_concurrent: int = DEFAULT_MAX_CONCURRENT_READS,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self._database = database
        self._slots = asyncio.Semaphore(max_concurrent)
        self._local = threading.local()
        self._cursors: list[Any] = []
        self._generation = 0
        """Counts ``close`` calls: a thread's cursor from before the last one is not used again."""
        self._lock = threading.Lock()
        self.clock = clock
        self.metric_days = MetricDays()
        """Metrics' per-day partials, kept for this database's later requests."""

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(cursor, *args)`` on the worker thread's own cursor."""
        async with self._slots:
            return await asyncio.to_thread(self._call, fn, *args)

    async def read_alone(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(cursor, *args)`` on a cursor of its own, closed afterwards: nothing it sets outlives it."""
        async with self._slots:
            return await asyncio.to_thread(self._call_alone, fn, *args)

    def close(self) -> None:
        """Close the worker threads' cursors; call once no read is running, before the database closes."""
        with self._lock:
            cursors, self._cursors = self._cursors, []
            self._generation += 1
        for cursor in cursors:
            cursor.close()

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        generation, cursor = getattr(self._local, "cursor", (None, None))
        if generation != self._generation:
            cursor = self._database.cursor()
            with self._lock:
                self._cursors.append(cursor)
                self._local.cursor = (self._generation, cursor)
        return fn(cursor, *args)

    def _call_alone(self, fn: Callable[..., T], *args: Any) -> T:
        cursor = self._database.cursor()
        try:
            return fn(cursor, *args)
        finally:
            cursor.close()
