"""The group-commit writer: many requests, one transaction, each answered on commit.

Receivers call ``await writer.write(table)`` (``write(table, "logs")`` for a
table of log records). The call returns only after the transaction holding
those rows has committed (acknowledged means committed), and raises
``Overloaded`` at once when the queue already holds ``max_queued_spans`` rows
(spans and log records alike): intake is bounded, memory with it. Spans and
log records queued together commit in one transaction, under one commit_seq.

One thread owns the write cursor. While it commits one group, new requests
queue up; its next transaction takes all of them (up to ``max_batch_spans``).
So the busier the server, the bigger each transaction and the fewer fsyncs
per span, with no timer adding latency when it is idle.

Under load it also lingers a little (``_gather``): a transaction of a row
group (``ROW_GROUP_SIZE`` spans) or more lets DuckDB write its rows straight
into the database file instead of through the WAL, and pays the commit's
fixed costs once for all of them. So when ``LINGER_FROM_SPANS`` are already
waiting and requests keep arriving, the writer waits for more in ticks of
``LINGER_TICK``, at most ``MAX_LINGER`` in all. A quiet server, or one whose
senders have stopped, never waits.

Each commit appends its runs' partial roll-ups (agentlog.store.rollups); the
writer folds them into the compacted roll-ups when it is idle and every
``compact_every`` commits while busy, between commits, so the partials that
readers merge stay few; on a lake, at most every ``LAKE_COMPACT_SECONDS``.

Should a group fail, its requests are retried one by one so that one bad
request cannot fail the others. A fatal DuckDB error (the database is
invalidated: out of memory in a checkpoint, a disk error) is different: no
later write can succeed, so the writer refuses everything with a retryable
error and tells ``on_fatal``; the server then stops, and a supervisor's
restart recovers the file from its WAL. Nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from agentlog.collector.priority import lower_ingest_priority
from agentlog.errors import Overloaded, ShuttingDown, StoreError
from agentlog.proto import Signal
from agentlog.store import ROW_GROUP_SIZE, Database, commit_rows, database_failed, last_commit
from agentlog.store.doubled import compact_runs_once_each
from agentlog.store.rollups import DEFAULT_COMPACT_EVERY, compact_runs, has_partials

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_MAX_QUEUED_SPANS = 200_000
"""About 100 MiB of decoded agent spans: bounded, and a few seconds of peak load."""

DEFAULT_MAX_BATCH_SPANS = 50_000
"""Spans per transaction: big enough to amortise the commit, small enough to keep p99 low."""

RETRY_AFTER_SECONDS = 1.0
COMMIT_ATTEMPTS = 6
"""Tries of one commit that conflicts with other writers' (a lake's collectors); then the senders retry."""
CONFLICT_BACKOFF_SECONDS = 0.01
"""The wait before the second try, doubled before each next one (0.01 to 0.16 s)."""

LINGER_FROM_SPANS = ROW_GROUP_SIZE // 8
"""Queued spans that show the server is under load (two of a typical SDK's 512-span batches)."""

LINGER_TICK = 0.02
"""Seconds the writer waits for more requests before it checks whether any came: longer
than the gap between two decoded requests under load (10-15 ms for 512 spans)."""

MAX_LINGER = 0.1
"""Most seconds one transaction waits to fill a row group: a bound on added latency."""


@dataclass(slots=True)
class _Pending:
    table: pa.Table
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop
    signal: Signal = "traces"
    """What the table's rows are: spans (``proto.SPAN_ROWS``) or log records (``proto.LOG_ROWS``)."""


@dataclass(slots=True)
class _Task:
    fn: Callable[[Any], Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


class _Compact:
    """The writer's own work when it has nothing else to do: fold the partial roll-ups."""


_COMPACT = _Compact()

LAKE_COMPACT_SECONDS = 5.0
"""On a lake, a writer's compactions are at least this far apart (on a file, whenever due). DuckLake counts
a compaction's delete from run_partials as a conflict with every other collector's insert into it, and the
reverse: each compaction costs the commits other collectors have in flight a retry. Compacting whenever
idle, two collectors sharing runs had 357 of 512 requests refused after six conflicts each (bench/lake.py,
runs split); the partials that wait meanwhile are merged by every read, as ever."""


class SpanWriter:
    """Owns the write cursor; commits queued span tables in groups."""

    def __init__(
        self,
        database: Database,
        *,
        max_queued_spans: int = DEFAULT_MAX_QUEUED_SPANS,
        max_batch_spans: int = DEFAULT_MAX_BATCH_SPANS,
        on_commit: Callable[[int], None] | None = None,
        on_fatal: Callable[[BaseException], None] | None = None,
        compact_every: int = DEFAULT_COMPACT_EVERY,
    ) -> None:
        self._database = database
        self._on_commit = on_commit
        self._on_fatal = on_fatal
        self.failure: BaseException | None = None
        """The fatal database error, once there was one: every write is refused from then on."""
        self._max_queued_spans = max_queued_spans
        self._max_batch_spans = max_batch_spans
        self._pending: deque[_Pending] = deque()
        self._tasks: deque[_Task] = deque()
        self._queued_spans = 0
        self._closing = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="agentlog-writer", daemon=True)
        self.committed_spans = 0
        self.committed_log_records = 0
        self.transactions = 0
        self.conflicts = 0
        """Commits tried again because another writer's commit conflicted with them (on a lake)."""
        self._commit_seq = 0
        self._compact_every = compact_every
        self._compact_interval = LAKE_COMPACT_SECONDS if database.is_lake else 0.0
        self._last_compaction = -math.inf  # time.monotonic() when the last compaction began
        self._uncompacted = 0
        """Commits since the last compaction (1 at start when partials are waiting)."""
        self.compactions = 0

    def start(self) -> None:
        self._thread.start()

    async def write(self, table: pa.Table, signal: Signal = "traces") -> None:
        """Queue ``table`` (span rows, or log record rows for ``signal="logs"``) and wait until it is
        committed. Overloaded when the queue is full."""
        loop = asyncio.get_running_loop()
        pending = _Pending(table, loop.create_future(), loop, signal)
        with self._condition:
            self._refuse_if_stopping()
            rows = table.num_rows
            # An empty queue always admits one request, however large: the
            # body limits bound a request, and it must be able to get in.
            if self._queued_spans and self._queued_spans + rows > self._max_queued_spans:
                raise Overloaded(
                    f"intake is full ({self._queued_spans} spans waiting to commit); retry later",
                    retry_after=RETRY_AFTER_SECONDS,
                )
            self._queued_spans += rows
            self._pending.append(pending)
            self._condition.notify()
        # Shielded: a client that disconnects does not cancel its commit.
        await asyncio.shield(pending.future)

    async def run_task(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(cursor)`` on the writer thread between commits (maintenance that must not
        conflict with ingest: retention, repricing). ``fn`` manages its own transactions."""
        loop = asyncio.get_running_loop()
        task = _Task(fn, loop.create_future(), loop)
        with self._condition:
            self._refuse_if_stopping()
            self._tasks.append(task)
            self._condition.notify()
        result: T = await task.future
        return result

    def _refuse_if_stopping(self) -> None:
        """ShuttingDown (retryable) once closing or after a fatal error; call with the lock held."""
        if self._closing or self.failure is not None:
            raise _stopping(self.failure)

    def close(self) -> None:
        """Commit everything queued, then stop the thread. New writes get ShuttingDown."""
        with self._condition:
            self._closing = True
            self._condition.notify()
        if self._thread.is_alive():
            self._thread.join()

    @property
    def commit_seq(self) -> int:
        """The last committed transaction's sequence number."""
        return self._commit_seq

    @property
    def queued_spans(self) -> int:
        return self._queued_spans

    def _run(self) -> None:
        lower_ingest_priority()
        cursor = self._database.cursor()
        self._commit_seq = last_commit(cursor)
        self._uncompacted = int(has_partials(cursor))
        try:
            while True:
                work = self._take_work()
                if isinstance(work, _Task):
                    self._run_task(cursor, work)
                elif isinstance(work, _Compact):
                    self._compact(cursor)
                elif work:
                    self._commit_group(cursor, work)
                else:
                    if self._uncompacted:
                        self._compact(cursor)
                    return
        finally:
            cursor.close()

    def _run_task(self, cursor: Any, task: _Task) -> None:
        try:
            result = task.fn(cursor)
        except Exception as error:
            log.exception("writer task failed")
            if database_failed(error):
                self._fail(error)
            task.loop.call_soon_threadsafe(_settle, task.future, None, error)
        else:
            task.loop.call_soon_threadsafe(_settle, task.future, result, None)

    def _take_work(self) -> _Task | _Compact | list[_Pending]:
        """The next task, else the next group of requests, else a compaction when one is due;
        [] once closing and drained."""
        with self._condition:
            while not self._pending and not self._tasks and not self._closing:
                if self._uncompacted and self.failure is None:
                    wait = self._compaction_wait()
                    if wait <= 0:
                        return _COMPACT
                    self._condition.wait(wait)
                    continue
                self._condition.wait()
            if self._tasks:
                return self._tasks.popleft()
            self._gather()
            group: list[_Pending] = []
            rows = 0
            while self._pending and (not group or rows + self._pending[0].table.num_rows <= self._max_batch_spans):
                item = self._pending.popleft()
                group.append(item)
                rows += item.table.num_rows
            return group

    def _gather(self) -> None:
        """Under load, wait (lock held, released while waiting) until a row group of spans is queued.

        Waits only while ``LINGER_FROM_SPANS`` are queued and every tick
        brings more: the sign that senders are busy. Returns at once for a
        task, on close, or after ``MAX_LINGER``.
        """
        deadline = time.monotonic() + MAX_LINGER
        queued = self._queued_spans
        while LINGER_FROM_SPANS <= queued < ROW_GROUP_SIZE and not self._tasks and not self._closing:
            tick_end = min(time.monotonic() + LINGER_TICK, deadline)
            while (remaining := tick_end - time.monotonic()) > 0 and not self._tasks and not self._closing:
                self._condition.wait(remaining)
            if self._queued_spans == queued or time.monotonic() >= deadline:
                return
            queued = self._queued_spans

    def _commit_group(self, cursor: Any, group: list[_Pending]) -> None:
        error = self._commit(cursor, group)
        if error is None:
            self._finish(group, None)
        elif len(group) == 1 or isinstance(error, Overloaded):  # nothing in the group is to blame: all retry
            self._finish(group, error)
        else:
            for item in group:
                self._finish([item], self._commit(cursor, [item]))
        if self._uncompacted >= self._compact_every and self._compaction_wait() <= 0:
            self._compact(cursor)  # once the group is answered: its senders do not wait for it

    def _commit(self, cursor: Any, group: list[_Pending]) -> StoreError | Overloaded | None:
        if self.failure is not None:
            return _stopping(self.failure)
        spans = [item.table for item in group if item.signal == "traces"]
        logs = [item.table for item in group if item.signal == "logs"]
        try:
            seq, (new_spans, new_log_records) = self._commit_retrying(cursor, spans, logs)
        except duckdb.TransactionException as error:  # another writer kept winning: the sender retries later
            log.warning("commit gave up after %d conflicts: %s", COMMIT_ATTEMPTS, error)
            return Overloaded(
                f"the store was busy with other writers' commits ({error})", retry_after=RETRY_AFTER_SECONDS
            )
        except Exception as error:  # any other database failure fails these requests, not the writer
            if database_failed(error):
                self._fail(error)
                return _stopping(error)
            if self._database.is_lake and _lake_unavailable(error):
                # The catalog (PostgreSQL) or the storage did not answer, or refused the commit: nothing was
                # acknowledged, and the next commit reconnects. Had the commit landed unseen, the retry's
                # spans are found stored.
                log.warning("commit failed, the lake did not answer: %s", error)
                message = f"the lake's catalog or storage did not answer ({error})"
                return Overloaded(message, retry_after=RETRY_AFTER_SECONDS)
            log.exception("commit of %d span and %d log record table(s) failed", len(spans), len(logs))
            return StoreError(f"the database refused the {'spans' if spans else 'log records'}: {error}")
        self._commit_seq = seq
        self._uncompacted += bool(spans)  # only spans add partial roll-ups
        self.transactions += 1
        self.committed_spans += new_spans
        self.committed_log_records += new_log_records
        if self._on_commit is not None:
            self._on_commit(self._commit_seq)
        return None

    def _commit_retrying(self, cursor: Any, spans: list[Any], logs: list[Any]) -> tuple[int, tuple[int, int]]:
        """``commit_rows`` under a new sequence number, again after a conflict with another writer's
        commit (on a lake, several processes commit at once; each attempt is all or nothing)."""
        for attempt in range(COMMIT_ATTEMPTS):
            # On a lake the number is the lake's, one sequence for every collector; a file's writer counts.
            seq = self._database.next_commit_seq(cursor) or self._commit_seq + 1
            try:
                return seq, commit_rows(cursor, spans, logs, seq, on_lake=self._database.is_lake)
            except duckdb.TransactionException:
                if attempt == COMMIT_ATTEMPTS - 1:
                    raise
                self.conflicts += 1
                time.sleep(CONFLICT_BACKOFF_SECONDS * 2**attempt)
        raise AssertionError("unreachable")

    def _compaction_wait(self) -> float:
        """Seconds until a compaction may begin (``LAKE_COMPACT_SECONDS`` on a lake); 0 or less: now."""
        return self._last_compaction + self._compact_interval - time.monotonic()

    def _compact(self, cursor: Any) -> None:
        """Fold the partial roll-ups; a failure loses nothing (the partials stay for the next one)."""
        self._uncompacted = 0
        self._last_compaction = time.monotonic()
        if self.failure is not None:
            return
        try:
            if self._database.is_lake:  # where two collectors may both store one retry
                _, dropped = compact_runs_once_each(cursor)
                if dropped:
                    log.warning("compaction dropped %d span(s) stored twice by two collectors", dropped)
            else:
                compact_runs(cursor)
        except Exception as error:
            if database_failed(error):
                self._fail(error)
            else:
                log.warning("compacting the run roll-ups failed; retried after the next commit", exc_info=True)
            return
        self.compactions += 1

    def _fail(self, error: BaseException) -> None:
        if self.failure is None:
            log.critical("the database failed and must be reopened; stopping: %s", error)
            self.failure = error
            if self._on_fatal is not None:
                self._on_fatal(error)

    def _finish(self, group: list[_Pending], error: StoreError | Overloaded | None) -> None:
        with self._condition:
            self._queued_spans -= sum(item.table.num_rows for item in group)
        for item in group:
            item.loop.call_soon_threadsafe(_settle, item.future, None, error)


def _stopping(failure: BaseException | None) -> ShuttingDown:
    """Retryable: the spans were not stored, and a restarted agentlog (or another) will take them."""
    if failure is None:
        return ShuttingDown("agentlog is shutting down", retry_after=RETRY_AFTER_SECONDS)
    return ShuttingDown(f"agentlog is stopping: the database failed ({failure})", retry_after=RETRY_AFTER_SECONDS)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _lake_unavailable(error: BaseException) -> bool:
    """Whether a lake's commit failed in the catalog or the storage rather than on the rows: an IOException
    (no answer), or a bare duckdb.Error, which is how a query PostgreSQL refused comes back (its
    serialization failure when upkeep flushes the table a commit writes to). Every other kind (conversion,
    constraint, binder) is about the rows, and a retry would fail alike."""
    return isinstance(error, duckdb.IOException) or type(error) is duckdb.Error
