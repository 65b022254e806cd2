"""Running read queries off the event loop: on a few worker threads, each with its own DuckDB cursor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from agentlog.query.metric_days import MetricDays
from agentlog.store import Database

T = TypeVar("T")

DEFAULT_MAX_CONCURRENT_READS = 4
"""Reads in flight at once: enough to overlap I/O, few enough that reads never crowd out the writer."""


class _Worker:
    """One thread, and the cursor it keeps for the reads it runs."""

    def __init__(self) -> None:
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentlog-read")
        self.cursor: Any = None

    def call(self, database: Database, fn: Callable[..., T], args: tuple[Any, ...], alone: bool) -> T:
        if alone:
            cursor = database.cursor()
            try:
                return fn(cursor, *args)
            finally:
                cursor.close()
        if self.cursor is None:
            self.cursor = database.cursor()
        return fn(self.cursor, *args)

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        if self.cursor is not None:
            self.cursor.close()
            self.cursor = None


class Reader:
    """Runs ``fn(cursor, ...)`` on one of N worker threads, never on the event loop; N at a time.

    Each worker keeps its cursor: opening a DuckDB connection (and pointing it
    at the file's catalog) costs ~0.35 ms, a few per cent of a history page.
    An idle worker is taken last-used first, so that one read at a time
    always lands on the same thread, whose CPU caches hold what the last read
    touched: asyncio's default executor hands reads to its threads in turn,
    and a history page took ~1 ms longer there (bench/README.md). A read
    that changes its cursor's settings or defines temporary objects (the SQL
    console) takes ``read_alone``.
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
        self._workers = [_Worker() for _ in range(max_concurrent)]
        self._idle = list(self._workers)
        """A stack: the worker used last is taken first."""
        self.clock = clock
        self.metric_days = MetricDays()
        """Metrics' per-day partials, kept for this database's later requests."""

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(cursor, *args)`` on a worker's own cursor."""
        return await self._on_worker(fn, args, alone=False)

    async def read_alone(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(cursor, *args)`` on a cursor of its own, closed afterwards: nothing it sets outlives it."""
        return await self._on_worker(fn, args, alone=True)

    async def _on_worker(self, fn: Callable[..., T], args: tuple[Any, ...], *, alone: bool) -> T:
        async with self._slots:
            worker = self._idle.pop()
            try:
                return await asyncio.get_running_loop().run_in_executor(
                    worker.thread, worker.call, self._database, fn, args, alone
                )
            finally:
                self._idle.append(worker)

    def close(self) -> None:
        """Stop the workers and close their cursors, before the database closes."""
        for worker in self._workers:
            worker.close()
