"""A lake's upkeep: one pass of DuckLake's maintenance, and the one row that schedules it and records it.

A pass, each step DuckLake's own function in a transaction of its own:

1. flush the rows small commits left in the catalog into Parquet files (``lake.INLINING_ROW_LIMIT``), table
   by table, but for the ``TRANSIENT_TABLES``; a table that a writer keeps busy is left for the next pass;
2. merge adjacent small files (``ducklake_merge_adjacent_files``);
3. expire snapshots older than ``keep_snapshots_seconds``;
4. delete the files that merges and expiries dropped, once they were dropped ``keep_snapshots_seconds``
   ago (``ducklake_cleanup_old_files``: a query that began before the drop may still read them), and files
   no commit ever recorded, once they are ``ORPHAN_AGE_SECONDS`` old (``ducklake_delete_orphaned_files``).

``keep_snapshots_seconds`` is thus how long an older state of the lake stays readable: longer than any
query runs.

Several processes share a lake: ``run`` starts a pass only after its claim (the row's ``last_started_at``,
set in a transaction that read it) commits. Two claims at once conflict in DuckLake, and the loser skips.
The row is replaced whole by delete and insert in one transaction (a lake has no keys).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb

from agentlog.errors import InvalidRequest
from agentlog.store.lake import LAKE
from agentlog.store.transactions import conflicts_retried, transaction

log = logging.getLogger(__name__)
T = TypeVar("T")

ORPHAN_AGE_SECONDS = 86_400
"""A file in the data path that no commit recorded is deleted once this old. A commit writes its files
before it records them: a younger one may belong to a commit still running (or retried)."""

CONFLICT_RETRIES = 5
"""Tries of a step or a write of the row that conflicts with another process's commit."""
CONFLICT_BACKOFF_SECONDS = 0.05

MIN_EVERY_SECONDS = 60
MIN_KEEP_SNAPSHOTS_SECONDS = 60
MAX_SECONDS = 366 * 86_400
NOT_A_LAKE = (
    "lake upkeep is for a DuckLake (--db ducklake:postgres:...); this database is a DuckDB file, which keeps "
    "itself (checkpoints, and compaction after deletes)"
)

RETRY_FAILED_SECONDS = 60
"""A failed pass is due again this long after it ended (not a whole ``every_seconds`` later)."""

_COLUMNS = (
    "every_seconds, keep_snapshots_seconds, epoch_ms(updated_at), epoch_ms(last_started_at), "
    "epoch_ms(last_finished_at), last_by, last_rows_flushed, last_files_merged, last_files_written, "
    "last_snapshots_expired, last_files_deleted, last_orphans_deleted, last_error"
)
# Should a second row ever appear, the newest pass's is the one read (and the next write leaves one).
SELECT = f"SELECT {_COLUMNS} FROM lake_upkeep ORDER BY last_started_at DESC NULLS LAST LIMIT 1"
REPLACE = (
    "DELETE FROM lake_upkeep",
    """
    INSERT INTO lake_upkeep VALUES (
        $every, $keep, make_timestamptz($updated_us), make_timestamptz($started_us),
        make_timestamptz($finished_us), $by, $flushed, $merged, $written, $expired, $deleted, $orphans, $error)
    """,
)
TRANSIENT_TABLES = ("run_partials", "pending_spans")
"""Tables whose rows live seconds: the compactor folds partial roll-ups into run_compacted, and a marker is
deleted when its span arrives. Their inlined rows are never flushed: the files would be deleted right
after, and a flush holds PostgreSQL row locks the writer's deletes then wait on (acknowledgements stalled
for the length of a pass when they were flushed)."""
TABLES = """
SELECT table_name FROM duckdb_tables()
WHERE database_name = $lake AND schema_name = 'main' AND NOT list_contains($transient, table_name)
ORDER BY table_name
"""
FLUSH = "SELECT coalesce(sum(rows_flushed), 0) FROM ducklake_flush_inlined_data($lake, table_name => $table)"
MERGE = """
SELECT coalesce(sum(files_processed), 0), coalesce(sum(files_created), 0) FROM ducklake_merge_adjacent_files($lake)
"""
EXPIRE = "SELECT count(*) FROM ducklake_expire_snapshots($lake, older_than => make_timestamptz($before_us))"
CLEANUP = "SELECT count(*) FROM ducklake_cleanup_old_files($lake, older_than => make_timestamptz($before_us))"
ORPHANS = "SELECT count(*) FROM ducklake_delete_orphaned_files($lake, older_than => make_timestamptz($before_us))"


@dataclass(frozen=True)
class Defaults:
    """A process's own schedule, for a lake whose row leaves a setting NULL (``agentlog serve
    --upkeep-every``, ``--upkeep-keep-snapshots``)."""

    every_seconds: int
    keep_snapshots_seconds: int


@dataclass(frozen=True)
class Done:
    """What one pass did."""

    rows_flushed: int = 0
    files_merged: int = 0
    files_written: int = 0
    snapshots_expired: int = 0
    files_deleted: int = 0
    orphans_deleted: int = 0


@dataclass(frozen=True)
class Upkeep:
    """The lake's row: its settings (None: each process's default) and its last pass."""

    every_seconds: int | None = None
    keep_snapshots_seconds: int | None = None
    updated_ms: int | None = None
    last_started_ms: int | None = None
    last_finished_ms: int | None = None
    last_by: str | None = None
    last_rows_flushed: int | None = None
    last_files_merged: int | None = None
    last_files_written: int | None = None
    last_snapshots_expired: int | None = None
    last_files_deleted: int | None = None
    last_orphans_deleted: int | None = None
    last_error: str | None = None

    def every(self, defaults: Defaults) -> int:
        """Seconds between passes (0: none scheduled)."""
        return defaults.every_seconds if self.every_seconds is None else self.every_seconds

    def keep(self, defaults: Defaults) -> int:
        """How old a snapshot must be to be expired, in seconds: never under ``MIN_KEEP_SNAPSHOTS_SECONDS``
        (a server's default is not checked as the lake's setting is, and 0 would delete the files a merge
        just replaced under the queries reading them)."""
        chosen = defaults.keep_snapshots_seconds if self.keep_snapshots_seconds is None else self.keep_snapshots_seconds
        return max(chosen, MIN_KEEP_SNAPSHOTS_SECONDS)

    @property
    def running(self) -> bool:
        """Whether the last pass claimed has not recorded its end (running, or its process died)."""
        return self.last_started_ms is not None and (
            self.last_finished_ms is None or self.last_finished_ms < self.last_started_ms
        )

    def due_ms(self, defaults: Defaults) -> int | None:
        """When the next scheduled pass is due (epoch ms; 0: now); None when none is scheduled.

        A pass that failed is tried again ``RETRY_FAILED_SECONDS`` after it ended; one claimed that never
        ended (its process stopped) counts from its start, as a finished one does."""
        every = self.every(defaults)
        if every <= 0:
            return None
        if self.last_started_ms is None:
            return 0
        if self.last_error is not None and not self.running and self.last_finished_ms is not None:
            return min(self.last_started_ms + every * 1000, self.last_finished_ms + RETRY_FAILED_SECONDS * 1000)
        return self.last_started_ms + every * 1000

    def to_json(self, defaults: Defaults) -> dict[str, Any]:
        """What the API answers: the settings in force for this process (and whether each is the lake's
        or the process's default), when the next pass is due, and the last pass."""
        last = None
        if self.last_started_ms is not None:
            finished = None if self.running else self.last_finished_ms
            last = {
                "started_ms": self.last_started_ms,
                "finished_ms": finished,
                "duration_ms": None if finished is None else finished - self.last_started_ms,
                "by": self.last_by,
                "rows_flushed": self.last_rows_flushed,
                "files_merged": self.last_files_merged,
                "files_written": self.last_files_written,
                "snapshots_expired": self.last_snapshots_expired,
                "files_deleted": self.last_files_deleted,
                "orphans_deleted": self.last_orphans_deleted,
                "error": self.last_error,
            }
        return {
            "lake": True,
            "every_seconds": self.every(defaults),
            "keep_snapshots_seconds": self.keep(defaults),
            "defaults": [name for name in ("every_seconds", "keep_snapshots_seconds") if getattr(self, name) is None],
            "updated_ms": self.updated_ms,
            "next_due_ms": self.due_ms(defaults),
            "running": self.running,
            "last": last,
        }


def checked(name: str, value: object) -> int | None:
    """``value`` as the setting ``name`` (None: each process's default; ``every_seconds`` 0: no scheduled
    passes); InvalidRequest naming what it takes otherwise."""
    lowest, off = {
        "every_seconds": (MIN_EVERY_SECONDS, True),
        "keep_snapshots_seconds": (MIN_KEEP_SNAPSHOTS_SECONDS, False),
    }[name]
    if value is None:
        return None
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and ((off and value == 0) or lowest <= value <= MAX_SECONDS)
    ):
        return value
    zero = "0 (no scheduled passes), " if off else ""
    raise InvalidRequest(f"{name} must be null (the default), {zero}or {lowest} to {MAX_SECONDS} seconds")


def process_name() -> str:
    """Who ran a pass, as the lake records it: this host and process."""
    return f"{socket.gethostname()} pid {os.getpid()}"


def read(cursor: Any) -> Upkeep:
    """The lake's row (all None if it has none)."""
    rows = cursor.execute(SELECT).fetchall()
    return Upkeep(*rows[0]) if rows else Upkeep()


def _write(cursor: Any, row: Upkeep) -> None:
    """Replace the row (inside the caller's transaction)."""

    def us(ms: int | None) -> int | None:
        return None if ms is None else ms * 1000

    cursor.execute(REPLACE[0])
    cursor.execute(
        REPLACE[1],
        {
            "every": row.every_seconds,
            "keep": row.keep_snapshots_seconds,
            "updated_us": us(row.updated_ms),
            "started_us": us(row.last_started_ms),
            "finished_us": us(row.last_finished_ms),
            "by": row.last_by,
            "flushed": row.last_rows_flushed,
            "merged": row.last_files_merged,
            "written": row.last_files_written,
            "expired": row.last_snapshots_expired,
            "deleted": row.last_files_deleted,
            "orphans": row.last_orphans_deleted,
            "error": row.last_error,
        },
    )


def _retrying(fn: Callable[[], T]) -> T:
    return conflicts_retried(fn, attempts=CONFLICT_RETRIES, backoff_seconds=CONFLICT_BACKOFF_SECONDS)


KEEP = -1
"""``change``'s value for a setting left as it is."""


def change(
    cursor: Any, now_ns: int, *, every_seconds: int | None = KEEP, keep_snapshots_seconds: int | None = KEEP
) -> Upkeep:
    """Set ``every_seconds`` and/or ``keep_snapshots_seconds`` (None: each process's default; ``KEEP``:
    unchanged); the last pass's record is kept. Its own transaction, tried again on a conflict."""

    def replace() -> Upkeep:
        with transaction(cursor):
            found = read(cursor)
            new = dataclasses.replace(
                found,
                every_seconds=found.every_seconds if every_seconds == KEEP else every_seconds,
                keep_snapshots_seconds=(
                    found.keep_snapshots_seconds if keep_snapshots_seconds == KEEP else keep_snapshots_seconds
                ),
                updated_ms=now_ns // 1_000_000,
            )
            _write(cursor, new)
        return new

    return _retrying(replace)


def claim(cursor: Any, now_ns: int, defaults: Defaults, by: str, *, force: bool = False) -> Upkeep | None:
    """Take the next pass: the row as claimed, or None when no pass is due (``force``: run one anyway)
    or another process's claim committed first (theirs and ours conflict: DuckLake refuses the second)."""
    try:
        with transaction(cursor):
            found = read(cursor)
            due = found.due_ms(defaults)
            if not force and (due is None or due > now_ns // 1_000_000):
                return None
            claimed = dataclasses.replace(found, last_started_ms=now_ns // 1_000_000, last_by=by)
            _write(cursor, claimed)
        return claimed
    except duckdb.TransactionException:
        return None


def record(cursor: Any, claimed: Upkeep, now_ns: int, done: Done | None, error: str | None) -> Upkeep:
    """Record the end of the pass ``claimed`` (what it did, or why it failed), keeping the settings as
    they are now (they may have changed meanwhile). A newer claim (this pass outlived ``every_seconds``
    and another process took the next one) is left alone: the row is that pass's."""
    done = done or Done()

    def replace() -> Upkeep:
        with transaction(cursor):
            found = read(cursor)
            if found.last_started_ms != claimed.last_started_ms or found.last_by != claimed.last_by:
                return found
            new = dataclasses.replace(
                found,
                last_finished_ms=max(now_ns // 1_000_000, claimed.last_started_ms or 0),
                last_rows_flushed=done.rows_flushed,
                last_files_merged=done.files_merged,
                last_files_written=done.files_written,
                last_snapshots_expired=done.snapshots_expired,
                last_files_deleted=done.files_deleted,
                last_orphans_deleted=done.orphans_deleted,
                last_error=error,
            )
            _write(cursor, new)
        return new

    return _retrying(replace)


def _flush(cursor: Any, scalar: Callable[..., int]) -> int:
    """Flush the inlined rows of every table but the transient ones, table by table; how many. A table a
    writer is committing to at that moment may still refuse after the conflict retries (PostgreSQL's
    serialization failure comes back as a bare duckdb.Error): it keeps its rows in the catalog, readable
    as ever, until the next pass."""
    flushed = 0
    for (table,) in cursor.execute(TABLES, {"lake": LAKE, "transient": list(TRANSIENT_TABLES)}).fetchall():
        try:
            flushed += scalar(FLUSH, table=table)
        except duckdb.Error as error:
            log.info("lake upkeep: %s left inlined until the next pass, busy: %s", table, error)
    return flushed


def run_pass(cursor: Any, now_ns: int, keep_snapshots_seconds: int) -> Done:
    """One pass's maintenance on the lake (see the module's docstring); what it did. Each step commits on
    its own, so one that fails leaves the earlier ones done; a conflict with another process's commit
    is tried again."""

    def row(sql: str, **params: Any) -> tuple[int, ...]:
        # fetchall, never fetchone: DuckDB commits a statement (and DuckLake its maintenance) only once its
        # result is read to the end; fetchone left the merge and the expiry uncommitted, then undone.
        (found,) = _retrying(lambda: cursor.execute(sql, {"lake": LAKE, **params}).fetchall())
        return tuple(int(value) for value in found)

    def scalar(sql: str, **params: Any) -> int:
        return row(sql, **params)[0]

    flushed = _flush(cursor, scalar)
    merged, written = row(MERGE)
    now_us = now_ns // 1000
    kept_from_us = now_us - keep_snapshots_seconds * 1_000_000
    expired = scalar(EXPIRE, before_us=kept_from_us)
    deleted = scalar(CLEANUP, before_us=kept_from_us)
    orphans = scalar(ORPHANS, before_us=now_us - ORPHAN_AGE_SECONDS * 1_000_000)
    return Done(flushed, merged, written, expired, deleted, orphans)


def run(cursor: Any, clock: Callable[[], int], defaults: Defaults, by: str, *, force: bool = False) -> Upkeep | None:
    """Claim a pass (``force``: even when none is due), run it and record how it went; the row after it,
    or None when no pass was claimed. A pass that fails is recorded with its error, logged, and raised
    no further: the next one tries again (``RETRY_FAILED_SECONDS``)."""
    claimed = claim(cursor, clock(), defaults, by, force=force)
    if claimed is None:
        return None
    try:
        done, error = run_pass(cursor, clock(), claimed.keep(defaults)), None
    except duckdb.Error as failure:
        log.warning("lake upkeep failed (tried again in %d s): %s", RETRY_FAILED_SECONDS, failure)
        done, error = None, str(failure)
    finished = record(cursor, claimed, clock(), done, error)
    if error is None:
        log.info(
            "lake upkeep: %d rows flushed, %d files merged into %d, %d snapshots expired, %d + %d files deleted "
            "in %d ms",
            *dataclasses.astuple(done or Done()),
            (finished.last_finished_ms or 0) - (claimed.last_started_ms or 0),
        )
    return finished
