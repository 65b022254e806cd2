"""A lake's upkeep on a real PostgreSQL catalog and real Parquet files: a pass merges small files and
every row reads back the same; old snapshots are expired and their files deleted; two processes at once
run one pass; a collector acknowledges and commits spans while a pass runs; the API and the CLI show and
change the schedule (and say upkeep is for lakes on a DuckDB file)."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from agentlog.cli import app
from agentlog.collector.upkeep import LakeUpkeep
from agentlog.store import Database, commit_spans, upkeep
from agentlog.store import lake as lake_store
from agentlog.store.keys import create_key
from agentlog.store.upkeep import Defaults
from tests.conftest import ServerHandle, start_server
from tests.factories import make_request, make_span, new_trace_id, span_rows
from tests.lake.conftest import Lake
from tests.test_server import Load, ServerProcess

DEFAULTS = Defaults(every_seconds=600, keep_snapshots_seconds=3600)
HOUR_NS = 3600 * 10**9
runner = CliRunner()


@pytest.fixture
def parquet_lake(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The lake opened with data inlining off: every commit writes Parquet files (by default a commit of
    few rows stays in the catalog; lake.INLINING_ROW_LIMIT)."""
    monkeypatch.setattr(lake_store, "INLINING_ROW_LIMIT", 0)
    database = Database.open(lake.db, data_path=str(lake.data_path))
    try:
        yield database
    finally:
        database.close()


def commit_small_batches(database: Database, batches: int, per_batch: int = 3) -> list[int]:
    """``batches`` commits of a few spans each (files of a few rows on a lake without inlining); their
    trace ids (random, high bits included: Parquet must hold all 128)."""
    cursor = database.cursor()
    ids = []
    for batch in range(batches):
        spans = [make_span(trace_id=new_trace_id(), name=f"s{batch}.{i}") for i in range(per_batch)]
        seq = database.next_commit_seq(cursor)
        assert seq is not None
        commit_spans(cursor, [span_rows(make_request(spans), "default")], seq)
        ids += [int.from_bytes(span.trace_id, "big") for span in spans]
    return ids


def files_on_disk(data_path: Path) -> int:
    return sum(1 for path in data_path.rglob("*") if path.is_file())


def live_files(cursor: Any, table: str) -> int:
    """Files the lake's newest snapshot reads for ``table``."""
    return int(cursor.execute("SELECT count(*) FROM ducklake_list_files('lake', ?)", [table]).fetchall()[0][0])


def snapshots(cursor: Any) -> int:
    return int(cursor.execute("SELECT count(*) FROM ducklake_snapshots('lake')").fetchall()[0][0])


def every_row(cursor: Any) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the stored spans and of the runs view, as text (timestamps need no pytz so)."""
    return {
        name: cursor.execute(f"SELECT CAST(COLUMNS(*) AS VARCHAR) FROM {name} ORDER BY ALL").fetchall()
        for name in ("stored_spans", "runs")
    }


def run_pass(database: Database, at_ns: int | None = None, *, force: bool = True) -> upkeep.Upkeep:
    """One pass, its clock at ``at_ns`` (now when None); the lake's row after it."""
    clock = (lambda: at_ns) if at_ns is not None else time.time_ns
    done = upkeep.run(database.cursor(), clock, DEFAULTS, "test", force=force)
    assert done is not None and done.last_error is None, done
    return done


def test_a_pass_merges_small_files_and_every_row_reads_back_the_same(lake: Lake, parquet_lake: Database) -> None:
    ids = commit_small_batches(parquet_lake, 30)
    cursor = parquet_lake.cursor()
    before = every_row(cursor)
    assert live_files(cursor, "stored_spans") == 30
    done = run_pass(parquet_lake)
    assert done.last_files_merged is not None and done.last_files_merged >= 60  # stored_spans and run_partials
    assert live_files(cursor, "stored_spans") == 1
    assert every_row(cursor) == before
    assert sorted(int(t) for (t,) in cursor.execute("SELECT trace_id FROM stored_spans").fetchall()) == sorted(ids)
    # The files the merge replaced stay until they are keep_snapshots_seconds old (a query may read them).
    on_disk = files_on_disk(lake.data_path)
    assert done.last_files_deleted == 0 and on_disk > 60
    later = run_pass(parquet_lake, time.time_ns() + HOUR_NS + 10**9)
    assert later.last_files_deleted is not None and later.last_files_deleted >= 60
    assert files_on_disk(lake.data_path) <= on_disk - 60
    assert every_row(cursor) == before


def test_snapshots_older_than_the_setting_are_expired_and_their_files_deleted(
    lake: Lake, parquet_lake: Database
) -> None:
    cursor = parquet_lake.cursor()
    upkeep.change(cursor, time.time_ns(), keep_snapshots_seconds=600)
    commit_small_batches(parquet_lake, 10)
    taken = snapshots(cursor)
    soon = run_pass(parquet_lake)  # every snapshot is younger than 600 s
    assert soon.last_snapshots_expired == 0 and snapshots(cursor) > taken
    before, on_disk = every_row(cursor), files_on_disk(lake.data_path)
    too_early = run_pass(parquet_lake, time.time_ns() + 500 * 10**9)
    assert too_early.last_snapshots_expired == 0
    later = run_pass(parquet_lake, time.time_ns() + 601 * 10**9)
    assert later.last_snapshots_expired is not None and later.last_snapshots_expired >= taken
    assert snapshots(cursor) <= 3  # the newest, and what the pass itself committed after expiring
    assert later.last_files_deleted is not None and later.last_files_deleted >= 20
    assert files_on_disk(lake.data_path) <= on_disk - 20
    assert every_row(cursor) == before


def test_a_pass_flushes_the_rows_small_commits_left_in_the_catalog(lake_database: Database) -> None:
    """On the lake as agentlog makes it, small commits stay in the catalog; a pass writes them to Parquet,
    every table's, and every trace id reads back exact from there."""
    cursor = lake_database.cursor()
    spans = [make_span(trace_id=new_trace_id(), name=f"s{i}") for i in range(20)]
    seq = lake_database.next_commit_seq(cursor)
    assert seq is not None
    commit_spans(cursor, [span_rows(make_request(spans), "default")], seq)
    create_key(cursor, "acme", "read")
    assert live_files(cursor, "api_keys") == 0 and live_files(cursor, "stored_spans") == 0  # before the pass
    done = run_pass(lake_database)
    assert done.last_rows_flushed is not None and done.last_rows_flushed >= 20 + 1  # the spans and the key
    assert live_files(cursor, "api_keys") == 1 and live_files(cursor, "stored_spans") == 1
    stored = {int(t) for (t,) in cursor.execute("SELECT trace_id FROM stored_spans").fetchall()}
    assert stored == {int.from_bytes(span.trace_id, "big") for span in spans}


def _claim_and_run(db: str, barrier: Any, results: Any) -> None:
    """In a child process: wait for the other, then run a due pass if this process claims it."""
    database = Database.open(db)
    try:
        barrier.wait(timeout=60)
        done = upkeep.run(database.cursor(), time.time_ns, DEFAULTS, upkeep.process_name())
        results.put(None if done is None else (done.last_by, done.last_error, done.last_files_merged))
    except Exception as error:
        results.put(repr(error))
    finally:
        database.close()


def test_two_processes_at_once_run_one_pass_and_lose_nothing(lake: Lake, parquet_lake: Database) -> None:
    commit_small_batches(parquet_lake, 20)
    before = every_row(parquet_lake.cursor())
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    children = [context.Process(target=_claim_and_run, args=(lake.db, barrier, results)) for _ in range(2)]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(timeout=60)
    ran = [outcome for outcome in outcomes if outcome is not None]
    assert len(ran) == 1, outcomes
    ((by, error, merged),) = ran
    assert error is None and merged is not None and merged >= 40
    assert by == upkeep.read(parquet_lake.cursor()).last_by and by.endswith(tuple(f"pid {c.pid}" for c in children))
    assert every_row(parquet_lake.cursor()) == before


def test_the_scheduler_runs_a_due_pass_once_then_when_due_again(parquet_lake: Database) -> None:
    now = [time.time_ns()]
    scheduler = LakeUpkeep(parquet_lake, Defaults(600, 3600), by="scheduler", clock=lambda: now[0])
    other = LakeUpkeep(parquet_lake, Defaults(600, 3600), by="other", clock=lambda: now[0])
    try:
        commit_small_batches(parquet_lake, 5)
        first = asyncio.run(scheduler.run_due())
        assert first is not None and first.last_by == "scheduler" and first.last_files_merged
        now[0] += 599 * 10**9
        assert asyncio.run(other.run_due()) is None  # not due yet, whichever process looks
        now[0] += 2 * 10**9
        again = asyncio.run(other.run_due())
        assert again is not None and again.last_by == "other"
        upkeep.change(parquet_lake.cursor(), now[0], every_seconds=0)
        now[0] += 10 * HOUR_NS
        assert asyncio.run(scheduler.run_due()) is None  # no scheduled passes
        assert asyncio.run(scheduler.run_now()).last_by == "scheduler"  # but one asked for runs
    finally:
        scheduler.close()
        other.close()


class AckTimes:
    """When a load's acknowledgements came: its count sampled every few milliseconds on a thread."""

    def __init__(self, load: Load) -> None:
        self._load = load
        self.times_ms: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def __enter__(self) -> AckTimes:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        seen = self._load.acked_requests
        while not self._stop.is_set():
            count = self._load.acked_requests
            self.times_ms += [time.time_ns() // 1_000_000] * (count - seen)
            seen = count
            time.sleep(0.005)


def test_a_collector_acknowledges_and_commits_spans_while_a_pass_runs(lake: Lake, parquet_lake: Database) -> None:
    """A pass over 100 small files takes 0.3-1.5 s on a busy 2-core machine; the collector's acknowledgements go on around it,
    held back briefly at most (in the writer's DuckDB instance a pass held them for its whole length; a
    flush of the transient tables held the writer's deletes on PostgreSQL's row locks). Acknowledgements
    come every ~250 ms here, and the gap around a pass was up to ~650 ms in ten runs."""
    commit_small_batches(parquet_lake, 100)
    parquet_lake.close()
    # No scheduled passes (--upkeep-every 0): the test runs one while the load goes on.
    with ServerProcess.start(lake.db, "--upkeep-every", "0") as server, Load(server, grpc_senders=2) as load:
        load.wait_for_acks(10, timeout=60)
        with AckTimes(load) as acks:
            time.sleep(0.5)
            response = httpx.post(server.api_url + "/api/v1/lake/upkeep/run", timeout=120)
            load.wait_for_acks(load.acked_requests + 10, timeout=60)  # and after it
    assert response.status_code == 200, response.text
    last = response.json()["last"]
    assert last["error"] is None and last["files_merged"] >= 100, last  # stored_spans' at least
    assert not load.unexpected, load.unexpected
    finished = last["finished_ms"]
    assert acks.times_ms[-1] > finished, (last, acks.times_ms)  # acknowledged after the pass too
    gaps = [b - a for a, b in zip(acks.times_ms, acks.times_ms[1:], strict=False)]
    assert max(gaps) < 2000, gaps
    stored = Database.open(lake.db)
    try:
        rows = stored.cursor().execute("SELECT trace_id, span_id FROM stored_spans").fetchall()
    finally:
        stored.close()
    assert load.acked_keys <= {(int(t), int(s)) for t, s in rows}


@pytest.fixture
def lake_server(lake: Lake) -> Iterator[ServerHandle]:
    server = start_server(db=lake.db, data_path=str(lake.data_path), upkeep_every_seconds=0)
    try:
        yield server
    finally:
        server.stop()


def test_the_api_and_the_cli_show_and_change_the_schedule(lake: Lake, lake_server: ServerHandle) -> None:
    api = lake_server.api_url + "/api/v1/lake/upkeep"
    shown = httpx.get(api).json()
    assert (shown["every_seconds"], shown["keep_snapshots_seconds"], shown["next_due_ms"]) == (0, 3600, None)
    assert shown["defaults"] == ["every_seconds", "keep_snapshots_seconds"] and shown["last"] is None
    changed = httpx.post(api, json={"every_seconds": 900})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["every_seconds"], changed.json()["defaults"]) == (900, ["keep_snapshots_seconds"])
    assert changed.json()["next_due_ms"] == 0  # never run: due at once
    for bad in ({"every_seconds": 5}, {"keep_snapshots_seconds": 0}, {"every_seconds": "1h"}, {"days": 3}):
        assert httpx.post(api, json=bad).status_code == 400, bad
    through = runner.invoke(
        app, ["lake", "upkeep", "--url", lake_server.api_url, "--keep-snapshots", "2h", "--every", "default", "--json"]
    )
    assert through.exit_code == 0, through.output
    assert (httpx.get(api).json()["keep_snapshots_seconds"], httpx.get(api).json()["defaults"]) == (
        7200,
        ["every_seconds"],
    )
    ran = runner.invoke(app, ["lake", "upkeep", "--url", lake_server.api_url, "--now"])
    assert ran.exit_code == 0, ran.output
    assert "last pass:" in ran.stdout and "files merged" in ran.stdout
    direct = runner.invoke(app, ["lake", "upkeep", "--db", lake.db, "--json"])  # on the lake itself
    assert direct.exit_code == 0, direct.output
    assert '"keep_snapshots_seconds": 7200' in direct.stdout and '"error": null' in direct.stdout
    now = runner.invoke(app, ["lake", "upkeep", "--db", lake.db, "--every", "1h", "--now"])
    assert now.exit_code == 0, now.output
    assert "upkeep every 1h (the lake's setting)" in now.stdout
    assert httpx.get(api).json()["every_seconds"] == 3600  # the server sees the CLI's change
    bad = runner.invoke(app, ["lake", "upkeep", "--db", lake.db, "--every", "soon"])
    assert bad.exit_code == 2 and "--every takes a duration" in bad.output


def test_a_read_only_process_shows_the_schedule_and_refuses_to_change_it(lake: Lake, lake_server: ServerHandle) -> None:
    reader = start_server(db=lake.db, ingest=False)
    try:
        api = reader.api_url + "/api/v1/lake/upkeep"
        assert httpx.get(api).status_code == 200
        assert httpx.post(api, json={"every_seconds": 900}).status_code == 400
        assert httpx.post(api + "/run").status_code == 400
    finally:
        reader.stop()


def test_on_a_duckdb_file_the_api_and_the_cli_say_upkeep_is_for_lakes(server: ServerHandle, db_path: Path) -> None:
    for method, path in (("GET", ""), ("POST", ""), ("POST", "/run")):
        response = httpx.request(method, server.api_url + "/api/v1/lake/upkeep" + path, json={})
        assert response.status_code == 409, response.text
        assert "lake upkeep is for a DuckLake" in response.json()["error"]["message"]
    server.stop()
    result = runner.invoke(app, ["lake", "upkeep", "--db", str(db_path)])
    assert result.exit_code == 2 and "lake upkeep is for a DuckLake" in result.output


def test_a_pass_running_in_a_thread_does_not_hold_the_event_loop(parquet_lake: Database) -> None:
    """run_due hands the pass to the upkeep's own thread: the loop serves other work meanwhile."""
    commit_small_batches(parquet_lake, 20)
    scheduler = LakeUpkeep(parquet_lake, DEFAULTS, by="thread")
    ticks = []

    async def main() -> upkeep.Upkeep | None:
        async def tick() -> None:
            while True:
                ticks.append(threading.current_thread().name)
                await asyncio.sleep(0.005)

        ticker = asyncio.create_task(tick())
        try:
            return await scheduler.run_due()
        finally:
            ticker.cancel()

    try:
        done = asyncio.run(main())
    finally:
        scheduler.close()
    assert done is not None and done.last_files_merged
    assert len(ticks) >= 3


def test_only_admin_keys_see_and_change_the_lake_upkeep(lake: Lake) -> None:
    database = Database.open(lake.db, data_path=str(lake.data_path))
    try:
        admin, _ = create_key(database.cursor(), "acme", "admin")
        read, _ = create_key(database.cursor(), "acme", "read")
    finally:
        database.close()
    server = start_server(db=lake.db, upkeep_every_seconds=0)
    try:
        api = server.api_url + "/api/v1/lake/upkeep"
        for method, path in (("GET", ""), ("POST", ""), ("POST", "/run")):
            assert httpx.request(method, api + path, json={}).status_code == 401
            denied = httpx.request(method, api + path, json={}, headers={"Authorization": f"Bearer {read}"})
            assert denied.status_code == 403, denied.text
        allowed = httpx.post(api, json={"every_seconds": 0}, headers={"Authorization": f"Bearer {admin}"})
        assert allowed.status_code == 200 and allowed.json()["every_seconds"] == 0
    finally:
        server.stop()
