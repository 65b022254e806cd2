"""list_runs on a real DuckDB file: pages stay exact when runs spread over years, not just the last hour."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pytest

from agentlog.query import HistoryQuery, list_runs
from agentlog.query.scope import LOCAL
from agentlog.store import Database, commit_spans
from tests.factories import make_request, make_span, span_rows

SECOND = 10**9
NOW = 1_790_000_000 * SECOND
# seconds before NOW: a burst of recent runs, then ever older ones, out of order
AGES = [5, 1, 30, 3_000, 7_000, 40_000, 90_000, 86_400 * 3, 86_400 * 40, 86_400 * 400, 86_400 * 900, 2, 8_000, 9]


@pytest.fixture
def database(tmp_path: Path) -> Database:
    database = Database.open(tmp_path / "history.duckdb")
    cursor = database.cursor()
    for seq, age in enumerate(AGES, start=1):
        start = NOW - age * SECOND
        root = make_span(name="invoke_agent", start=start, duration=SECOND, status_code=2 if age % 2 else 1)
        child = make_span(trace_id=root.trace_id, parent_span_id=root.span_id, start=start, name="chat")
        commit_spans(cursor, [span_rows(make_request([root, child]), LOCAL.tenant_id)], seq)
    return database


def _expected(status: str | None = None) -> list[int]:
    ages = [age for age in AGES if status is None or (status == "failed") == bool(age % 2)]
    return sorted(ages)


def _ages(runs: list[dict[str, object]]) -> list[int]:
    return [(NOW - _started_ns(run)) // SECOND for run in runs]


def _started_ns(run: dict[str, object]) -> int:
    started = datetime.fromisoformat(str(run["started_at"]).replace("Z", "+00:00"))
    return round(started.timestamp()) * SECOND


# Where the listing starts looking: now, or long after the newest run (a store idle for years),
# or before some runs (a sender's clock ahead of the server's).
NOWS = [NOW, NOW + 86_400 * 1_000 * SECOND, NOW - 20 * SECOND]


@pytest.mark.parametrize("now", NOWS)
@pytest.mark.parametrize("status", [None, "failed", "success"])
def test_cursor_pages_walk_every_run_newest_first(database: Database, status: str | None, now: int) -> None:
    seen: list[int] = []
    cursor_token = None
    for _ in range(len(AGES)):
        page = list_runs(database.cursor(), LOCAL, HistoryQuery(status=status, limit=3, cursor=cursor_token), now)
        seen += _ages(page.runs)
        cursor_token = page.next_cursor
        if cursor_token is None:
            break
    assert seen == _expected(status)


# Unfiltered, a page is read with the first window at once; filtered, its oldest start is found first.
@pytest.mark.parametrize("now", NOWS)
@pytest.mark.parametrize("status", [None, "failed"])
def test_skip_reaches_old_runs_exactly(database: Database, status: str | None, now: int) -> None:
    for skip in random.Random(7).sample(range(len(AGES)), 6):
        page = list_runs(database.cursor(), LOCAL, HistoryQuery(status=status, skip=skip, limit=2), now)
        assert _ages(page.runs) == _expected(status)[skip : skip + 2]


def test_since_and_until_bound_the_listing(database: Database) -> None:
    query = HistoryQuery(since_ns=NOW - 100_000 * SECOND, until_ns=NOW - 10 * SECOND, limit=50)
    assert _ages(list_runs(database.cursor(), LOCAL, query, NOW).runs) == [30, 3_000, 7_000, 8_000, 40_000, 90_000]


def test_an_empty_store_lists_nothing(tmp_path: Path) -> None:
    page = list_runs(Database.open(tmp_path / "empty.duckdb").cursor(), LOCAL, HistoryQuery(), NOW)
    assert page.runs == [] and page.next_cursor is None
