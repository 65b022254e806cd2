from __future__ import annotations

import asyncio
from pathlib import Path

import pyarrow as pa
import pytest

from agentlog.collector.writer import SpanWriter
from agentlog.errors import Overloaded, ShuttingDown, StoreError
from agentlog.proto import decode_spans
from agentlog.store import Database, to_arrow
from tests.factories import agent_spans, make_request


def _table(spans: int = 10) -> object:
    return to_arrow(decode_spans(make_request(agent_spans(spans))), "default")


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
    for _ in range(7):
        assert writer._commit(cursor, [_table(4)]) is None  # type: ignore[list-item]
    assert writer.compactions == 2
    assert _partials(database) == 1
    assert cursor.execute("SELECT count(*), sum(span_count) FROM run_rollups").fetchone() == (7, 28)
    database.close()
