from __future__ import annotations

import asyncio
from pathlib import Path

import pyarrow as pa
import pytest

from agentlog.collector import writer as writer_module
from agentlog.collector.writer import SpanWriter, _Pending
from agentlog.errors import Overloaded, ShuttingDown, StoreError
from agentlog.store import Database
from tests.factories import agent_spans, make_request, span_rows


def _table(spans: int = 10) -> object:
    return span_rows(make_request(agent_spans(spans)), "default")


def _count(database: Database) -> int:
    return int(database.cursor().execute("SELECT count(*) FROM stored_spans").fetchone()[0])


def test_concurrent_writes_share_transactions_and_all_commit(db_path: Path) -> None:
    database = Database.open(db_path)
    writer = SpanWriter(database)
    writer.start()

    async def main() -> None:
        await asyncio.gather(*(writer.write(_table()) for _ in range(200)))  # type: ignore[arg-type]

    asyncio.run(main())
    writer.close()
    assert _count(database) == 2000
    assert writer.committed_spans == 2000
    # Group commit: requests that arrive during a commit share the next one.
    assert writer.transactions < 200
    database.close()


def test_write_returns_only_after_commit(db_path: Path) -> None:
    database = Database.open(db_path)
    writer = SpanWriter(database)
    writer.start()

    async def main() -> int:
        await writer.write(_table(7))  # type: ignore[arg-type]
        return _count(database)

    assert asyncio.run(main()) == 7
    writer.close()
    database.close()


def test_a_full_queue_refuses_with_a_retry_delay(db_path: Path) -> None:
    database = Database.open(db_path)
    writer = SpanWriter(database, max_queued_spans=15)  # not started: nothing drains the queue

    async def main() -> None:
        first = asyncio.ensure_future(writer.write(_table(10)))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        with pytest.raises(Overloaded) as caught:
            await writer.write(_table(10))  # type: ignore[arg-type]
        assert caught.value.retry_after > 0
        assert writer.queued_spans == 10
        writer.start()
        await first

    asyncio.run(main())
    writer.close()
    assert _count(database) == 10
    database.close()


def test_close_commits_what_is_queued_then_refuses(db_path: Path) -> None:
    database = Database.open(db_path)
    writer = SpanWriter(database)

    async def main() -> None:
        pending = [asyncio.ensure_future(writer.write(_table(5))) for _ in range(3)]  # type: ignore[arg-type]
        await asyncio.sleep(0)
        writer.start()
        await asyncio.to_thread(writer.close)
        await asyncio.gather(*pending)
        with pytest.raises(ShuttingDown):
            await writer.write(_table(5))  # type: ignore[arg-type]

    asyncio.run(main())
    assert _count(database) == 15
    database.close()


def test_one_bad_request_in_a_group_fails_alone(db_path: Path) -> None:
    database = Database.open(db_path)
    writer = SpanWriter(database)  # started after queueing so the three share one group

    async def main() -> list[object]:
        bad = pa.table({"unexpected": [1]})
        pending = [
            asyncio.ensure_future(writer.write(_table(4))),  # type: ignore[arg-type]
            asyncio.ensure_future(writer.write(bad)),
            asyncio.ensure_future(writer.write(_table(6))),  # type: ignore[arg-type]
        ]
        await asyncio.sleep(0)
        writer.start()
        return await asyncio.gather(*pending, return_exceptions=True)

    results = asyncio.run(main())
    writer.close()
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], StoreError)
    assert _count(database) == 10
    database.close()


def _run_writes(writer: SpanWriter, sizes: list[int], gap: float) -> None:
    """Start ``writer`` with ``sizes[0]`` spans queued, then send the rest ``gap`` seconds apart."""
    tables = [_table(size) for size in sizes]

    async def main() -> None:
        first = asyncio.ensure_future(writer.write(tables[0]))  # type: ignore[arg-type]
        await asyncio.sleep(0)  # queued before the writer looks
        writer.start()
        later = []
        for table in tables[1:]:
            await asyncio.sleep(gap)
            later.append(asyncio.ensure_future(writer.write(table)))  # type: ignore[arg-type]
        await asyncio.gather(first, *later)

    asyncio.run(main())


def test_under_load_the_writer_waits_to_fill_a_row_group(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "LINGER_TICK", 0.2)  # ticks far longer than the gaps between sends
    monkeypatch.setattr(writer_module, "MAX_LINGER", 10.0)
    database = Database.open(db_path)
    writer = SpanWriter(database)
    _run_writes(writer, [writer_module.LINGER_FROM_SPANS, 2000, 2000, 2000, 2000], gap=0.02)
    writer.close()
    assert _count(database) == writer_module.LINGER_FROM_SPANS + 8000
    assert writer.transactions == 1  # one row group's worth, not a commit per arrival
    database.close()


def test_a_quiet_writer_commits_without_waiting(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "LINGER_TICK", 10.0)  # were it to wait, the test would see a later request join
    monkeypatch.setattr(writer_module, "MAX_LINGER", 10.0)
    database = Database.open(db_path)
    writer = SpanWriter(database)
    _run_writes(writer, [writer_module.LINGER_FROM_SPANS - 1, 10], gap=0.3)  # no sign of load
    writer.close()
    assert _count(database) == writer_module.LINGER_FROM_SPANS + 9
    assert writer.transactions == 2
    database.close()


def test_the_writer_stops_waiting_when_senders_stop(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "LINGER_TICK", 0.2)
    monkeypatch.setattr(writer_module, "MAX_LINGER", 10.0)
    database = Database.open(db_path)
    writer = SpanWriter(database)
    # A tick that brings nothing ends the wait: the second request finds the first committed.
    _run_writes(writer, [writer_module.LINGER_FROM_SPANS, 10], gap=1.5)
    writer.close()
    assert writer.transactions == 2
    database.close()


def _partials(database: Database) -> int:
    return int(database.cursor().execute("SELECT count(*) FROM run_partials").fetchone()[0])


def test_the_writer_compacts_the_run_roll_ups_when_idle_and_at_close(db_path: Path) -> None:
    database = Database.open(db_path)
    writer = SpanWriter(database, compact_every=1_000)
    writer.start()

    async def main() -> None:
        await writer.write(_table(5))  # type: ignore[arg-type]
        for _ in range(200):  # idle now: the writer folds the partial before waiting
            if _partials(database) == 0:
                return
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert _partials(database) == 0
    assert writer.compactions >= 1
    writer.close()
    assert database.cursor().execute("SELECT count(*), sum(span_count) FROM run_compacted").fetchone() == (1, 5)
    database.close()


def test_a_busy_writer_compacts_every_n_commits(db_path: Path) -> None:
    database = Database.open(db_path)
    writer = SpanWriter(database, compact_every=3)  # not started: never idle, commits one after another
    cursor = database.cursor()
    loop = asyncio.new_event_loop()
    answers = [loop.create_future() for _ in range(7)]
    for answer in answers:
        writer._commit_group(cursor, [_Pending(_table(4), answer, loop)])  # type: ignore[arg-type]
    loop.run_until_complete(asyncio.gather(*answers))
    loop.close()
    assert writer.compactions == 2
    assert _partials(database) == 1
    assert cursor.execute("SELECT count(*), sum(span_count) FROM run_rollups").fetchone() == (7, 28)
    database.close()
