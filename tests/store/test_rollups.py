"""Run roll-ups that several writers share: append-only partials, a view, a compactor (store/rollups.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from agentlog.proto import decode_spans
from agentlog.store import Database, compact_runs, insert_spans, to_arrow
from agentlog.store.rollups import fold_partials
from tests.factories import agent_spans, make_request, make_span, new_trace_id

RUN = "SELECT * EXCLUDE (commit_seq, first_seq) FROM run_rollups ORDER BY trace_id"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(tmp_path / "shared.duckdb")
    yield database
    database.close()


def _table(spans: list[Span]) -> Any:
    return to_arrow(decode_spans(make_request(spans)), "default")


def _one_writer(tmp_path: Path, batches: list[list[Span]]) -> list[tuple[Any, ...]]:
    """The runs one writer stores from ``batches``, one transaction each: what two writers must agree with."""
    database = Database.open(tmp_path / "reference.duckdb")
    cursor = database.cursor()
    for seq, spans in enumerate(batches, 1):
        cursor.execute("BEGIN")
        insert_spans(cursor, [_table(spans)], seq)
        cursor.execute("COMMIT")
    rows = list(cursor.execute(RUN).fetchall())
    database.close()
    return rows


def _a_run_in_three_parts() -> list[list[Span]]:
    trace_id = new_trace_id()
    root, *children = agent_spans(7, trace_id)
    chat = make_span(
        trace_id=trace_id,
        parent_span_id=root.span_id,
        name="chat gpt-4o",
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 9},
    )
    return [[children[0], children[1]], [children[2], children[3], chat], [root, children[4], children[5]]]


def test_two_writers_adding_spans_to_one_run_in_interleaved_transactions_lose_nothing(
    database: Database, tmp_path: Path
) -> None:
    first, second, third = _a_run_in_three_parts()
    a, b = database.cursor(), database.cursor()
    a.execute("BEGIN")
    insert_spans(a, [_table(first)], 1)
    b.execute("BEGIN")
    insert_spans(b, [_table(second)], 2)
    a.execute("COMMIT")
    insert_spans(a, [_table(third)], 3)  # autocommit, while b's transaction is still open
    b.execute("COMMIT")
    assert a.execute(RUN).fetchall() == _one_writer(tmp_path, [first, second, third])
    assert a.execute("SELECT span_count, node_count, models FROM run_rollups").fetchall() == [(8, 7, ["gpt-4o"])]
    compact_runs(a)
    assert a.execute(RUN).fetchall() == _one_writer(tmp_path, [first, second, third])
    assert a.execute("SELECT count(*) FROM run_partials").fetchone() == (0,)


def test_the_old_design_updating_the_run_in_place_conflicts(database: Database) -> None:
    """Why partials: before migration 0015 each commit updated the run's one row (merge_runs.sql);
    the second of two interleaved writers then fails."""
    first, _, _ = _a_run_in_three_parts()
    a, b = database.cursor(), database.cursor()
    insert_spans(a, [_table(first)], 1)
    compact_runs(a)
    update = "UPDATE run_compacted SET span_count = span_count + 1"  # what merge_runs.sql did, by rowid
    a.execute("BEGIN")
    a.execute(update)
    b.execute("BEGIN")
    with pytest.raises(duckdb.TransactionException, match="Conflict"):
        b.execute(update)
    b.execute("ROLLBACK")
    a.execute("COMMIT")


def test_compaction_while_partials_arrive_loses_none(database: Database, tmp_path: Path) -> None:
    first, second, third = _a_run_in_three_parts()
    other = agent_spans(3)
    writer, compactor = database.cursor(), database.cursor()
    insert_spans(writer, [_table(first)], 1)

    # A writer's partial that commits while a compaction runs is not in its snapshot: it stays.
    compactor.execute("BEGIN")
    assert fold_partials(compactor) == 1
    insert_spans(writer, [_table(second), _table(other)], 2)
    compactor.execute("COMMIT")
    assert writer.execute("SELECT count(*) FROM run_partials").fetchone() == (2,)
    assert writer.execute(RUN).fetchall() == _one_writer(tmp_path / "a", [first, second, other])

    # And a compaction that commits while a writer's transaction is open leaves its partial alone.
    writer.execute("BEGIN")
    insert_spans(writer, [_table(third)], 3)
    assert compact_runs(compactor) == 2
    writer.execute("COMMIT")
    assert compactor.execute("SELECT count(*) FROM run_partials").fetchone() == (1,)
    expected = _one_writer(tmp_path / "b", [first, second, other, third])
    assert compactor.execute(RUN).fetchall() == expected
    assert compact_runs(compactor) == 1
    assert compactor.execute(RUN).fetchall() == expected
    assert compactor.execute("SELECT count(*) FROM run_compacted").fetchone() == (2,)


def test_the_view_reads_the_same_compacted_or_not(database: Database) -> None:
    cursor = database.cursor()
    for seq, spans in enumerate(_a_run_in_three_parts(), 1):
        insert_spans(cursor, [_table(spans)], seq)
    uncompacted = cursor.execute("SELECT * FROM run_rollups").fetchall()
    assert cursor.execute("SELECT count(*) FROM run_partials").fetchone() == (3,)
    assert compact_runs(cursor) == 3
    assert compact_runs(cursor) == 0
    assert cursor.execute("SELECT * FROM run_rollups").fetchall() == uncompacted
    assert cursor.execute("SELECT * FROM run_compacted").fetchall() == uncompacted
