"""Metrics' per-day partials: counts, sums and duration histograms per agent, kept while a day is unchanged.

Metrics over 30 days join the spans of every run in the window: about two
seconds on a million runs. The partials of one UTC day add up with those of
other days (histograms merge by adding counts; quantiles could not), so a day
is computed once and reused for as long as its runs are unchanged, which a
signature of the day's run roll-ups tells (metrics_day_signatures.sql).

Under ingest today changes all the time. So a day's kept partials cover its
runs whose last commit is at or before a cut (a commit_seq); the runs
committed after the cut, on any day, are summed afresh at each request, and
once there are more than ``MAX_FRESH_RUNS`` of them the cut moves up to the
newest commit, which recomputes the days they belong to (usually today) once.
The part of the window's first day after ``since`` is computed afresh too.

A signature and the partials it vouches for are read in one transaction, so
they describe the same snapshot: a partial can be stale only if its signature
is, and then it is computed again. The cut is not part of a signature: runs
of a day at or before two cuts with one (count, newest commit, costs) are the
same runs, unchanged (a changed run's commit_seq passes every earlier one).

The price: duration quantiles come from histograms, within 2 % of the exact
ones (store/views/durations.sql). Counts, sums and averages stay exact.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from agentlog.query.scope import Scope
from agentlog.query.statements import read_sql
from agentlog.query.timefmt import MAX_UNIX_NANO
from agentlog.store.rollups import for_tenant, reads_for

SIGNATURES_SQL = read_sql("metrics_day_signatures.sql")
DAY_RUNS_SQL = read_sql("metrics_day_runs.sql")
DAY_NODES_SQL = read_sql("metrics_day_nodes.sql")
MERGE_RUNS_SQL = read_sql("metrics_merge_runs.sql")
MERGE_NODES_SQL = read_sql("metrics_merge_nodes.sql")

DAY_NS = 86_400 * 1_000_000_000
MAX_SEQ = 2**63 - 1
MAX_FRESH_RUNS = 2_000
"""Runs committed after the cut, summed at each request, before the cut moves up."""
DEFAULT_BUDGET_BYTES = 64 * 1024 * 1024
"""Partials kept at most, by Arrow size: 30 busy days (20 agents, 150,000 nodes a day) take about 10 MiB."""


@dataclass(frozen=True)
class Partials:
    """Run partials (metrics_day_runs.sql) and node partials (metrics_day_nodes.sql) of some runs."""

    runs: pa.Table
    nodes: pa.Table

    @property
    def nbytes(self) -> int:
        return int(self.runs.nbytes + self.nodes.nbytes)


def compute_partials(
    cursor: Any, scope: Scope, low_ns: int, high_ns: int, low_seq: int = 0, high_seq: int = MAX_SEQ
) -> Partials:
    """The partials of the runs started in [low_ns, high_ns) and last committed in [low_seq, high_seq]."""
    params = {
        "tenant": scope.tenant_id,
        "user_scope": scope.user_id,
        "low_ns": low_ns,
        "high_ns": high_ns,
        "low_seq": low_seq,
        "high_seq": high_seq,
    }
    reads = reads_for(cursor, scope.tenant_id)
    return Partials(
        runs=cursor.execute(reads(DAY_RUNS_SQL), params).to_arrow_table(),
        nodes=cursor.execute(reads(DAY_NODES_SQL), params).to_arrow_table(),
    )


def merge_partials(cursor: Any, partials: Partials) -> Partials:
    """Many partials (of different days) as one of the same shape, which adds up as they do."""
    with registered(cursor, partials):
        return Partials(
            runs=cursor.execute(MERGE_RUNS_SQL).to_arrow_table(),
            nodes=cursor.execute(MERGE_NODES_SQL).to_arrow_table(),
        )


def concat_partials(parts: list[Partials]) -> Partials:
    return Partials(
        runs=pa.concat_tables([part.runs for part in parts]),
        nodes=pa.concat_tables([part.nodes for part in parts]),
    )


@contextmanager
def registered(cursor: Any, partials: Partials) -> Iterator[None]:
    """``partials`` readable as the views ``run_days`` and ``node_days`` on ``cursor``."""
    cursor.register("run_days", partials.runs)
    cursor.register("node_days", partials.nodes)
    try:
        yield
    finally:
        cursor.unregister("run_days")
        cursor.unregister("node_days")


_Key = tuple[str, str | None, int, int]
"""tenant, user scope, first and last day covered."""


class MetricDays:
    """Partials of days, least recently used dropped past a byte budget.

    It keeps each day's partials up to the cut, and those of all whole days
    of a window but the newest merged into one: merging 30 days' histograms
    costs more than the rest of the metrics together. One per database (the
    Reader holds it): the key does not name the database. Thread-safe; two
    requests computing the same day both get right answers, whatever cut each
    read."""

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self._budget = budget_bytes
        self._entries: OrderedDict[_Key, tuple[Any, Partials]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._cuts: dict[tuple[str, str | None], int] = {}

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every kept partial: after a change to stored runs that keeps their commits
        (re-normalising), which the day signatures cannot see."""
        with self._lock:
            self._entries.clear()
            self._cuts.clear()
            self._bytes = 0

    def window(self, cursor: Any, scope: Scope, since_ns: int) -> Partials:
        """The partials of every run that started at or after ``since_ns``, in the caller's transaction."""
        first_day = -(-since_ns // DAY_NS)  # the first whole day in the window
        parts = []
        if since_ns < first_day * DAY_NS:
            parts.append(compute_partials(cursor, scope, since_ns, first_day * DAY_NS))
        scope_key = (scope.tenant_id, scope.user_id)
        cut = self._cuts.get(scope_key, -1)
        days = self._signatures(cursor, scope, first_day, cut)
        if cut < 0 or sum(fresh for _, _, fresh, _ in days) > MAX_FRESH_RUNS:
            new_cut = max((newest for _, _, _, newest in days), default=0)
            moved = self._signatures(cursor, scope, first_day, new_cut)
            self._extend(cursor, scope, days, moved, cut, new_cut)
            days, cut = moved, new_cut
            self._cuts[scope_key] = cut
        kept = [(day, signature) for day, signature, _, _ in days if signature[0]]
        if len(kept) > 2:
            parts.append(self._merged(cursor, scope, kept[:-1], cut))
            kept = kept[-1:]
        parts.extend(self._day(cursor, scope, day, signature, cut) for day, signature in kept)
        if any(fresh for _, _, fresh, _ in days):
            parts.append(compute_partials(cursor, scope, first_day * DAY_NS, MAX_UNIX_NANO, cut + 1))
        if not parts:
            parts.append(compute_partials(cursor, scope, since_ns, since_ns))
        return concat_partials(parts)

    def _signatures(
        self, cursor: Any, scope: Scope, first_day: int, cut: int
    ) -> list[tuple[int, tuple[Any, ...], int, int]]:
        """Per day from ``first_day``: its signature at ``cut``, its runs committed after, its newest commit."""
        rows = cursor.execute(
            for_tenant(cursor, scope.tenant_id, SIGNATURES_SQL),
            {"tenant": scope.tenant_id, "user_scope": scope.user_id, "from_ns": first_day * DAY_NS, "cut": cut},
        ).fetchall()
        return [(int(day), tuple(signature), int(fresh), int(newest)) for day, *signature, fresh, newest in rows]

    def _extend(
        self,
        cursor: Any,
        scope: Scope,
        before: list[tuple[int, tuple[Any, ...], int, int]],
        after: list[tuple[int, tuple[Any, ...], int, int]],
        cut: int,
        new_cut: int,
    ) -> None:
        """Kept days that gained runs between the cuts and lost none: their partials and the new runs', merged.

        Finished runs do not change, so under ingest this is the usual case,
        and much cheaper than computing a busy day again."""
        new_signatures = {day: signature for day, signature, _, _ in after}
        for day, signature, fresh, _ in before:
            key = (scope.tenant_id, scope.user_id, day, day)
            kept = self._get(key, signature) if fresh and cut >= 0 else None
            if kept is None or day not in new_signatures:
                continue
            added = compute_partials(cursor, scope, day * DAY_NS, (day + 1) * DAY_NS, cut + 1, new_cut)
            self._put(key, new_signatures[day], merge_partials(cursor, concat_partials([kept, added])))

    def _day(self, cursor: Any, scope: Scope, day: int, signature: tuple[Any, ...], cut: int) -> Partials:
        key = (scope.tenant_id, scope.user_id, day, day)
        partials = self._get(key, signature)
        if partials is None:
            partials = compute_partials(cursor, scope, day * DAY_NS, (day + 1) * DAY_NS, 0, cut)
            self._put(key, signature, partials)
        return partials

    def _merged(self, cursor: Any, scope: Scope, days: list[tuple[int, tuple[Any, ...]]], cut: int) -> Partials:
        key = (scope.tenant_id, scope.user_id, days[0][0], days[-1][0])
        partials = self._get(key, days)
        if partials is None:
            each = [self._day(cursor, scope, day, signature, cut) for day, signature in days]
            partials = merge_partials(cursor, concat_partials(each))
            self._put(key, days, partials)
        return partials

    def _get(self, key: _Key, signature: Any) -> Partials | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != signature:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def _put(self, key: _Key, signature: Any, partials: Partials) -> None:
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= previous[1].nbytes
            if partials.nbytes > self._budget:
                return
            self._entries[key] = (signature, partials)
            self._bytes += partials.nbytes
            while self._bytes > self._budget:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped.nbytes
